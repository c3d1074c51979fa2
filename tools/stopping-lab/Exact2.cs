using GrmWorker.Scoring.Aggregation;
using GrmWorker.Scoring.Simulation;
using GrmWorker.Scoring.Stopping;

/// The Bayes rule that knows the simulator's own generative model, for two-response jobs: the posterior of the two
/// latent qualities on a grid (prior: the mixture's uniform draw plus its forced near ties), each sample's likelihood
/// exact (its permutation's position bias, the shared shift integrated by Gauss-Hermite, rounding and clamping), and
/// the predictive of the remaining valid samples' score difference given the qualities (Normal, with the known parse
/// rate). What no rule that reads only the scores can beat, up to the Normal predictive of the future sum.
sealed class Exact2Rule : IStoppingRule
{
    const double Step = 0.05, Lo = 1.75, Hi = 9.0;
    static readonly double[] GhX = [-3.4361591188, -2.5327316742, -1.7566836493, -1.0366108298, -0.3429013272, 0.3429013272, 1.0366108298, 1.7566836493, 2.5327316742, 3.4361591188];
    static readonly double[] GhW = [0.0000076404, 0.0013436457, 0.0338743945, 0.2401386111, 0.6108626337, 0.6108626337, 0.2401386111, 0.0338743945, 0.0013436457, 0.0000076404];
    readonly SimulationMixture _mix;
    readonly int _g;
    readonly double[] _q, _prior, _meanD, _varD, _shift, _shiftW;
    double[] _post = [];
    long _seed = long.MinValue;
    int _seen;

    public Exact2Rule(StoppingOptions options, SimulationMixture mix)
    {
        Options = options;
        _mix = mix;
        _g = (int)Math.Round((Hi - Lo) / Step) + 1;
        _q = Enumerable.Range(0, _g).Select(i => Lo + i * Step).ToArray();
        _shift = GhX.Select(x => Math.Sqrt(2) * mix.SampleOffset * x).ToArray();
        _shiftW = GhW.Select(w => w / Math.Sqrt(Math.PI)).ToArray();
        _prior = Prior();
        (_meanD, _varD) = DifferenceMoments();
    }

    public StoppingOptions Options { get; }

    double[] Prior()
    {
        var p = new double[_g * _g];
        var span = _mix.QualityHigh - _mix.QualityLow;
        for (var a = 0; a < _g; a++)
            for (var b = 0; b < _g; b++)
            {
                double q1 = _q[a], q2 = _q[b];
                var uniform = q1 >= _mix.QualityLow && q2 >= _mix.QualityLow ? 1 / (span * span) : 0;
                // Near tie: the best is the max of two uniforms (density 2(b-lo)/span²), the other best - U·gap.
                double best = Math.Max(q1, q2), gap = Math.Abs(q1 - q2);
                var tie = gap <= _mix.NearTieGap && best >= _mix.QualityLow ? 0.5 * 2 * (best - _mix.QualityLow) / (span * span) / _mix.NearTieGap : 0;
                p[a * _g + b] = (1 - _mix.NearTieFraction) * uniform + _mix.NearTieFraction * tie;
            }
        var tot = p.Sum();
        return p.Select(x => x / tot).ToArray();
    }

    double Bias(int shownPosition) => _mix.PositionBias * (0.5 - shownPosition);

    double ScoreProb(int score, double mean)
    {
        double Cdf(double x) => Dp.Phi((x - mean) / _mix.Noise);
        return score == 1 ? Cdf(1.5) : score == 10 ? 1 - Cdf(9.5) : Cdf(score + 0.5) - Cdf(score - 0.5);
    }

    (double[] mean, double[] var) DifferenceMoments()
    {
        // E[S] and E[S²] for each quality, shift node and shown position.
        var m1 = new double[_g, GhX.Length, 2]; var m2 = new double[_g, GhX.Length, 2];
        for (var a = 0; a < _g; a++)
            for (var k = 0; k < GhX.Length; k++)
                for (var pos = 0; pos < 2; pos++)
                    for (var s = 1; s <= 10; s++)
                    {
                        var pr = ScoreProb(s, _q[a] + _shift[k] + Bias(pos));
                        m1[a, k, pos] += pr * s; m2[a, k, pos] += pr * s * s;
                    }
        var mean = new double[_g * _g]; var var = new double[_g * _g];
        for (var a = 0; a < _g; a++)
            for (var b = 0; b < _g; b++)
            {
                double e = 0, e2 = 0;
                for (var k = 0; k < GhX.Length; k++)
                    for (var pos = 0; pos < 2; pos++)
                    {
                        double w = _shiftW[k] / 2, ea = m1[a, k, pos], eb = m1[b, k, 1 - pos];
                        e += w * (ea - eb);
                        e2 += w * (m2[a, k, pos] - 2 * ea * eb + m2[b, k, 1 - pos]);
                    }
                mean[a * _g + b] = e; var[a * _g + b] = e2 - e * e;
            }
        return (mean, var);
    }

    void Absorb(GrmSample sample)
    {
        if (!sample.IsValid) return;
        var first = sample.Permutation.Order[0]; // request index shown first
        var u = new double[_g]; var v = new double[_g];
        var like = new double[_g * _g];
        for (var k = 0; k < GhX.Length; k++)
        {
            for (var a = 0; a < _g; a++)
            {
                u[a] = ScoreProb(sample.Scores![0], _q[a] + _shift[k] + Bias(first == 0 ? 0 : 1));
                v[a] = ScoreProb(sample.Scores![1], _q[a] + _shift[k] + Bias(first == 1 ? 0 : 1));
            }
            for (var a = 0; a < _g; a++)
            {
                var ua = _shiftW[k] * u[a];
                if (ua < 1e-300) continue;
                for (var b = 0; b < _g; b++) like[a * _g + b] += ua * v[b];
            }
        }
        double tot = 0;
        for (var c = 0; c < like.Length; c++) tot += _post[c] *= like[c];
        for (var c = 0; c < like.Length; c++) _post[c] /= tot;
    }

    public StoppingDecision Evaluate(IReadOnlyList<GrmSample> drawn, int n)
    {
        if (n != 2) throw new ArgumentException("the exact rule is for two-response jobs");
        if (drawn.Count >= Options.KMax) return new StoppingDecision(true, StopReason.KMax, -1, null, null);
        if (drawn[0].Seed != _seed || drawn.Count < _seen) { _seed = drawn[0].Seed; _seen = 0; _post = (double[])_prior.Clone(); }
        for (; _seen < drawn.Count; _seen++) Absorb(drawn[_seen]);
        if (drawn.Count < Options.KMin) return StoppingDecision.Go(StopReason.BelowKMin);
        var sums = new int[2];
        foreach (var s in drawn.Where(s => s.IsValid)) { sums[0] += s.Scores![0]; sums[1] += s.Scores![1]; }
        var leader = Voting.Leader(sums);
        var rival = 1 - leader;
        var needed = sums[leader] - sums[rival] + (rival > leader ? 1 : 0);
        var remaining = Options.KMax - drawn.Count;
        if (9 * remaining < needed) return new StoppingDecision(true, StopReason.LeaderCertain, leader, 0, null);
        var valid = 1 - _mix.UnparseableRate;
        double change = 0;
        var sign = leader == 0 ? 1 : -1;
        for (var c = 0; c < _post.Length; c++)
        {
            if (_post[c] < 1e-12) continue;
            var md = sign * _meanD[c];
            var mean = remaining * valid * md;
            var var = remaining * valid * _varD[c] + remaining * valid * (1 - valid) * md * md;
            change += _post[c] * Dp.Phi((-needed + 0.5 - mean) / Math.Sqrt(var));
        }
        var stop = change <= Options.ErrorBound;
        return new StoppingDecision(stop, stop ? StopReason.LeaderSettled : StopReason.Continue, leader, change, null);
    }
}
