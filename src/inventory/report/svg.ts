/** Small inline SVG charts for the report: no script, no external assets, text escaped. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

/** Grouped vertical bars: one group per label, one bar per series. */
export function groupedBars(
  labels: readonly string[],
  series: readonly Series[],
  title: string,
): string {
  const width = 720;
  const height = 240;
  const left = 48;
  const bottom = 40;
  const top = 28;
  const plotW = width - left - 12;
  const plotH = height - top - bottom;
  // Four gridlines at whole numbers: the axis top is the next multiple of 4 steps.
  const step = Math.max(1, Math.ceil(Math.max(0, ...series.flatMap((s) => s.values)) / 4));
  const max = step * 4;
  const group = labels.length === 0 ? plotW : plotW / labels.length;
  const bar = Math.max(2, Math.min(24, (group - 6) / Math.max(1, series.length)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${left}" y="16" class="t">${escapeHtml(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = step * i;
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - 12}" y1="${y}" y2="${y}" class="g"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" class="a">${value}</text>`);
  }
  labels.forEach((label, i) => {
    const x0 = left + i * group + (group - bar * series.length) / 2;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (plotH * v) / max;
      parts.push(
        `<rect x="${(x0 + j * bar).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${escapeHtml(`${label} ${s.name}: ${v}`)}</title></rect>`,
      );
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0)
      parts.push(
        `<text x="${(left + i * group + group / 2).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" class="a">${escapeHtml(label.slice(5))}</text>`,
      );
  });
  series.forEach((s, j) => {
    const x = left + j * 190;
    parts.push(`<rect x="${x}" y="${height - 14}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 14}" y="${height - 5}" class="a">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars, one per label. */
export function horizontalBars(
  items: readonly { label: string; value: number }[],
  title: string,
  color: string,
): string {
  const width = 720;
  const rowH = 22;
  const left = 180;
  const height = 28 + Math.max(1, items.length) * rowH;
  const max = Math.max(1, ...items.map((i) => i.value));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="0" y="16" class="t">${escapeHtml(title)}</text>`,
  ];
  if (items.length === 0) parts.push(`<text x="0" y="42" class="a">none</text>`);
  items.forEach((item, i) => {
    const y = 28 + i * rowH;
    const w = ((width - left - 60) * item.value) / max;
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="a">${escapeHtml(item.label)}</text>`,
    );
    parts.push(
      `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`,
    );
    parts.push(
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 15}" class="a">${item.value}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
