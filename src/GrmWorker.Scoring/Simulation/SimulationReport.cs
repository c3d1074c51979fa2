namespace GrmWorker.Scoring.Simulation;

/// <summary>
/// Figures of one setting, each job compared with full k_max voting on the SAME sample stream
/// (the adaptive run sees a prefix of it).
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
    double InvalidSampleRate);
