export { createTcpSession } from './session.js';
