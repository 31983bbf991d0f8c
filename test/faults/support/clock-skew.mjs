// Test-only: loaded with --import into one Gatehouse process to run its clock CLOCK_SKEW_MS ahead.
const skew = Number(process.env.CLOCK_SKEW_MS ?? 0);
if (skew) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
