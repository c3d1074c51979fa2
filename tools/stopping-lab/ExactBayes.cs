using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Simulation;

/// The Bayes rule that knows the simulator's own generative model, for jobs of 2 or 3 responses: the posterior of the
/// latent qualities on a grid (prior: the mixture's uniform draw plus its forced near ties), each sample's likelihood
/// exact (its permutation's position bias, the shared shift integrated by Gauss-Hermite, rounding and clamping), and
/// P(k_max leader ≠ leader now) from the known moments of the per-sample score differences given the qualities (a
/// Normal predictive for the remaining valid samples, the known parse rate, the rivals' joint for n = 3). It reads only
/// the scores, as the worker's rule does. Run once per job: <see cref="Trajectory"/> gives P at every sample count, so
/// every δ is read off the same run.
sealed class ExactBayes
{
    const double Lo = 1.75;
    static readonly double[] GhX = [-3.4361591188, -2.5327316742, -1.7566836493, -1.0366108298, -0.3429013272, 0.3429013272, 1.0366108298, 1.7566836493, 2.5327316742, 3.4361591188];
    static readonly double[] GhW = [0.0000076404, 0.0013436457, 0.0338743945, 0.2401386111, 0.6108626337, 0.6108626337, 0.2401386111, 0.0338743945, 0.0013436457, 0.0000076404];
    static readonly double[] GlX = [-0.9894009350, -0.9445750231, -0.8656312024, -0.7554044084, -0.6178762444, -0.4580167777, -0.2816035508, -0.0950125098, 0.0950125098, 0.2816035508, 0.4580167777, 0.6178762444, 0.7554044084, 0.8656312024, 0.9445750231, 0.9894009350];
    static readonly double[] GlW = [0.0271524594, 0.0622535239, 0.0951585117, 0.1246289713, 0.1495959888, 0.1691565194, 0.1826034150, 0.1894506105, 0.1894506105, 0.1826034150, 0.1691565194, 0.1495959888, 0.1246289713, 0.0951585117, 0.0622535239, 0.0271524594];
    readonly SimulationMixture _mix;
    readonly int _n, _g, _cells;
    readonly double[] _q, _shift, _shiftW, _prior;
    readonly int[][] _perms;
    readonly double[,,] _m1, _m2; // E[S], E[S²] by quality index, shift node, shown position
    readonly double[] _es, _ess;   // per cell: E[S_i] (n), E[S_i S_j] (n·n), over shift and permutation

    public ExactBayes(SimulationMixture mix, int n, double step)
    {
        if (n is < 2 or > 3) throw new ArgumentException("n must be 2 or 3");
        _mix = mix; _n = n;
        _g = (int)Math.Round((mix.QualityHigh - Lo) / step) + 1;
        _q = Enumerable.Range(0, _g).Select(i => Lo + i * step).ToArray();
        _cells = (int)Math.Pow(_g, n);
        _shift = GhX.Select(x => Math.Sqrt(2) * mix.SampleOffset * x).ToArray();
        _shiftW = GhW.Select(w => w / Math.Sqrt(Math.PI)).ToArray();
        _perms = n == 2 ? [[0, 1], [1, 0]] : [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        (_m1, _m2) = ScoreMoments();
        _prior = Prior();
        (_es, _ess) = CellMoments();
    }

    int[] Index(int cell) { var a = new int[_n]; for (var i = _n - 1; i >= 0; i--) { a[i] = cell % _g; cell /= _g; } return a; }

    double Bias(int pos) => _mix.PositionBias * (0.5 - (double)pos / (_n - 1));

    double ScoreProb(int score, double mean)
    {
        double Cdf(double x) => Dp.Phi((x - mean) / _mix.Noise);
        return score == 1 ? Cdf(1.5) : score == 10 ? 1 - Cdf(9.5) : Cdf(score + 0.5) - Cdf(score - 0.5);
    }

    (double[,,], double[,,]) ScoreMoments()
    {
        var m1 = new double[_g, GhX.Length, _n]; var m2 = new double[_g, GhX.Length, _n];
        for (var a = 0; a < _g; a++)
            for (var k = 0; k < GhX.Length; k++)
                for (var pos = 0; pos < _n; pos++)
                    for (var s = 1; s <= 10; s++)
                    {
                        var pr = ScoreProb(s, _q[a] + _shift[k] + Bias(pos));
                        m1[a, k, pos] += pr * s; m2[a, k, pos] += pr * s * s;
                    }
        return (m1, m2);
    }

    // Uniform qualities, or (near tie) the best, the second best replaced by best − U·gap, the rest: for the roles
    // (i best, j replaced), the discarded second best lay between the best and the highest of the rest.
    double[] Prior()
    {
        var p = new double[_cells];
        double lo = _mix.QualityLow, hi = _mix.QualityHigh, span = hi - lo, gap = _mix.NearTieGap;
        for (var c = 0; c < _cells; c++)
        {
            var q = Index(c).Select(a => _q[a]).ToArray();
            var uniform = q.All(x => x >= lo && x <= hi) ? Math.Pow(span, -_n) : 0;
            double tie = 0;
            for (var i = 0; i < _n; i++)
                for (var j = 0; j < _n; j++)
                {
                    var d = q[i] - q[j];
                    if (i == j || d < -1e-9 || d > gap + 1e-9 || q[i] > hi) continue;
                    var rest = Enumerable.Range(0, _n).Where(r => r != i && r != j).Select(r => q[r]).ToArray();
                    if (rest.Any(x => x < lo || x > q[i])) continue;
                    var floor = rest.Length == 0 ? lo : Math.Max(lo, rest.Max());
                    if (q[i] < lo) continue;
                    // A grid point on the band's edge (a tie, or the gap itself) stands for half a cell of it.
                    var edge = Math.Abs(d) < 1e-9 || Math.Abs(d - gap) < 1e-9 ? 0.5 : 1;
                    tie += edge * (q[i] - floor) * Math.Pow(span, -_n) / gap;
                }
            p[c] = (1 - _mix.NearTieFraction) * uniform + _mix.NearTieFraction * tie;
        }
        var tot = p.Sum();
        for (var c = 0; c < _cells; c++) p[c] /= tot;
        return p;
    }

    (double[], double[]) CellMoments()
    {
        var es = new double[_cells * _n]; var ess = new double[_cells * _n * _n];
        var w = 1.0 / _perms.Length;
        var e1 = new double[_n]; var e2 = new double[_n];
        for (var c = 0; c < _cells; c++)
        {
            var a = Index(c);
            for (var k = 0; k < GhX.Length; k++)
                foreach (var perm in _perms) // perm[p] = request index shown at p
                {
                    var wk = _shiftW[k] * w;
                    for (var p = 0; p < _n; p++) { e1[perm[p]] = _m1[a[perm[p]], k, p]; e2[perm[p]] = _m2[a[perm[p]], k, p]; }
                    for (var i = 0; i < _n; i++)
                    {
                        es[c * _n + i] += wk * e1[i];
                        for (var j = 0; j < _n; j++) ess[(c * _n + i) * _n + j] += wk * (i == j ? e2[i] : e1[i] * e1[j]);
                    }
                }
        }
        return (es, ess);
    }

    void Absorb(double[] post, double[] like, double[] buf, GrmSample sample)
    {
        if (!sample.IsValid) return;
        Array.Clear(like);
        var order = sample.Permutation.Order;
        var pos = new int[_n];
        for (var p = 0; p < _n; p++) pos[order[p]] = p;
        for (var k = 0; k < GhX.Length; k++)
        {
            // The outer product over responses of P(score_i | quality, shift k, its shown position).
            var len = 1; buf[0] = _shiftW[k];
            for (var i = 0; i < _n; i++)
            {
                var u = new double[_g];
                for (var a = 0; a < _g; a++) u[a] = ScoreProb(sample.Scores![i], _q[a] + _shift[k] + Bias(pos[i]));
                for (var j = len - 1; j >= 0; j--)
                {
                    var bj = buf[j];
                    for (var a = _g - 1; a >= 0; a--) buf[j * _g + a] = bj * u[a];
                }
                len *= _g;
            }
            for (var c = 0; c < _cells; c++) like[c] += buf[c];
        }
        double tot = 0;
        for (var c = 0; c < _cells; c++) tot += post[c] *= like[c];
        for (var c = 0; c < _cells; c++) post[c] /= tot;
    }

    /// P(k_max leader ≠ leader now) after each sample count m (index m; NaN below 2), 0 where the leader is certain.
    public double[] Trajectory(GrmSample[] stream, int kMax)
    {
        var post = (double[])_prior.Clone();
        var like = new double[_cells]; var buf = new double[_cells];
        var result = new double[kMax + 1];
        Array.Fill(result, double.NaN);
        var sums = new int[_n];
        for (var m = 1; m < kMax; m++)
        {
            var s = stream[m - 1];
            Absorb(post, like, buf, s);
            if (s.IsValid) for (var i = 0; i < _n; i++) sums[i] += s.Scores![i];
            if (m >= 2) result[m] = Change(post, sums, kMax - m);
        }
        return result;
    }

    double Change(double[] post, int[] sums, int remaining)
    {
        var leader = Voting.Leader(sums);
        var rivals = Enumerable.Range(0, _n).Where(r => r != leader).ToArray();
        var needed = rivals.Select(r => sums[leader] - sums[r] + (r > leader ? 1 : 0)).ToArray();
        if (needed.All(x => 9 * remaining < x)) return 0;
        double v = 1 - _mix.UnparseableRate, ev = remaining * v, varV = remaining * v * (1 - v);
        double change = 0;
        Span<double> mu = stackalloc double[2], z = stackalloc double[2], sd = stackalloc double[2], p = stackalloc double[2];
        for (var c = 0; c < _cells; c++)
        {
            if (post[c] < 1e-13) continue;
            double E(int i) => _es[c * _n + i];
            double C(int i, int j) => _ess[(c * _n + i) * _n + j] - E(i) * E(j);
            // D_r = S_L − S_r per valid sample; the sum over V valid samples.
            for (var t = 0; t < rivals.Length; t++)
            {
                var r = rivals[t];
                mu[t] = E(leader) - E(r);
                var varD = C(leader, leader) + C(r, r) - 2 * C(leader, r);
                sd[t] = Math.Sqrt(ev * varD + varV * mu[t] * mu[t]);
                z[t] = (-needed[t] + 0.5 - ev * mu[t]) / sd[t];
                p[t] = 9 * remaining < needed[t] ? 0 : Dp.Phi(z[t]);
            }
            var pc = p[0] + (rivals.Length > 1 ? p[1] : 0);
            if (rivals.Length > 1 && Math.Min(p[0], p[1]) > 1e-9)
            {
                int r1 = rivals[0], r2 = rivals[1];
                var cov = C(leader, leader) - C(leader, r2) - C(r1, leader) + C(r1, r2);
                var rho = (ev * cov + varV * mu[0] * mu[1]) / (sd[0] * sd[1]);
                pc -= Bvn(z[0], z[1], rho);
            }
            change += post[c] * Math.Min(pc, 1);
        }
        return change;
    }

    // P(X < h, Y < k) for a standard bivariate Normal with correlation rho (Plackett's integral, Gauss-Legendre).
    static double Bvn(double h, double k, double rho)
    {
        double sum = 0;
        for (var i = 0; i < GlX.Length; i++)
        {
            var r = rho * (GlX[i] + 1) / 2;
            var one = 1 - r * r;
            sum += GlW[i] * Math.Exp(-(h * h - 2 * r * h * k + k * k) / (2 * one)) / Math.Sqrt(one);
        }
        return Dp.Phi(h) * Dp.Phi(k) + sum * rho / 2 / (2 * Math.PI);
    }
}
