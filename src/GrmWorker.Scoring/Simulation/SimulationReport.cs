namespace GrmWorker.Scoring.Simulation;

/// <summary>
/// Figures of one setting, each job compared with full k_max voting on the SAME sample stream
/// (the adaptive run sees a prefix of it). <see cref="MeanRounds"/> counts the rounds a job took: each is one
/// generation call after the last, so it is what a job's latency grows with.
/// </summary>
public sealed record SimulationReport(
    int KMax,
    double Noise,
    int Jobs,
    double MeanSamplesUsed,
    double MeanSamplesFraction,
    double Top1Agreement,
    double MeanAbsRewardDiff,
    double StoppedEarlyRate,
    double NearTieAgreement,
    double NearTieSamplesFraction,
    double InvalidSampleRate,
    double MeanRounds);
