namespace GrmWorker.Scoring.Stopping;

/// <summary>Why a stopping rule said what it said; stored with the job for audit.</summary>
public enum StopReason
{
    /// <summary>Keep drawing.</summary>
    Continue = 0,

    /// <summary>Keep drawing: fewer than k_min samples so far.</summary>
    BelowKMin = 1,

    /// <summary>k_max samples drawn.</summary>
    KMax = 2,

    /// <summary>No rival can reach the leader even if every remaining sample favours it by 9 points.</summary>
    LeaderCertain = 3,

    /// <summary>Rivals' predictive probability of catching the leader is within the error bound.</summary>
    LeaderSettled = 4,

    /// <summary>n = 1: the mean score is within the width setting of its k_max value.</summary>
    MeanSettled = 5,

    /// <summary>Not one parsable sample in <see cref="StoppingOptions.GiveUpAfterInvalidDraws"/> draws: more would be wasted.</summary>
    NoValidSamples = 6,
}
