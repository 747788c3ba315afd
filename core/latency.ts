import hdr from 'hdr-histogram-js';

export interface LatencySummary {
  /** Completed requests the figures are based on. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Request latencies in an HDR histogram (microsecond resolution, 2 significant digits), reported in ms. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    bitBucketSize: 32,
    useWebAssembly: false,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 2,
  });

  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const at = (p: number) => (h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / 1000);
    return { count: h.totalCount, p50: at(50), p95: at(95), p99: at(99), max: h.totalCount === 0 ? 0 : h.maxValue / 1000 };
  }
}
