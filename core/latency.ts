import hdr from 'hdr-histogram-js';

export interface LatencySummary {
  /** Completed requests the figures are based on. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Request latencies in an HDR histogram (microsecond resolution, 3 significant digits), reported in ms. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    bitBucketSize: 32,
    useWebAssembly: false,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const max = h.maxValue;
    // A percentile reads the top of its bucket, which can lie above the largest value recorded.
    const at = (p: number) => Math.min(h.getValueAtPercentile(p), max) / 1000;
    return { count: h.totalCount, p50: at(50), p95: at(95), p99: at(99), max: max / 1000 };
  }
}
