/** A time chart (uPlot) of connections and denials per interval. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function TimeChart(props: {
  readonly times: readonly number[];
  readonly series: readonly {
    readonly label: string;
    readonly values: readonly number[];
    readonly color: string;
  }[];
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const plot = new uPlot(
      {
        width: Math.max(320, node.clientWidth),
        height: 220,
        scales: { x: { time: true } },
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            points: { show: false },
          })),
        ],
        axes: [{}, { label: 'per interval' }],
      },
      [[...props.times], ...props.series.map((s) => [...s.values])],
      node,
    );
    return () => plot.destroy();
  }, [props.times, props.series]);
  return <div ref={el} className="chart" data-testid="chart" />;
}
