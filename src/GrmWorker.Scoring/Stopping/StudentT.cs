namespace GrmWorker.Scoring.Stopping;

/// <summary>
/// Student-t distribution function through the regularised incomplete beta function
/// (continued fraction, modified Lentz), with a Lanczos log-gamma. Accurate to ~1e-10, plenty
/// for a stopping threshold; pure managed code.
/// </summary>
internal static class StudentT
{
    /// <summary>P(T ≤ t) for T ~ t(ν).</summary>
    public static double Cdf(double t, double nu)
    {
        if (double.IsNaN(t) || nu <= 0)
            return double.NaN;
        if (double.IsPositiveInfinity(t))
            return 1;
        if (double.IsNegativeInfinity(t))
            return 0;
        var x = nu / (nu + t * t);
        var tail = 0.5 * RegularizedBeta(x, nu / 2, 0.5);
        return t > 0 ? 1 - tail : tail;
    }

    internal static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0)
            return 0;
        if (x >= 1)
            return 1;
        var logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        var front = Math.Exp(logFront);
        // The continued fraction converges fast only on this side of the mean; use symmetry otherwise.
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(x, a, b) / a
            : 1 - front * BetaContinuedFraction(1 - x, b, a) / b;
    }

    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double Tiny = 1e-300;
        var c = 1.0;
        var d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
        var h = d;
        for (var m = 1; m <= 300; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 / NonZero(1 + aa * d);
            c = NonZero(1 + aa / c);
            h *= d * c;
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 / NonZero(1 + aa * d);
            c = NonZero(1 + aa / c);
            var step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < 1e-14)
                break;
        }
        return h;

        static double NonZero(double v) => Math.Abs(v) < Tiny ? Tiny : v;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7,
        ];
        if (x < 0.5)
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = c[0];
        for (var i = 1; i < c.Length; i++)
            sum += c[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
