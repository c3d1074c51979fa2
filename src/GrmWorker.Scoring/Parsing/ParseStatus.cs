namespace GrmWorker.Scoring.Parsing;

/// <summary>Outcome of parsing one sample's generated text; only <see cref="Ok"/> samples vote.</summary>
public enum ParseStatus
{
    Ok = 0,
    Empty = 1,
    MissingScores = 2,
    WrongCount = 3,
    NotInteger = 4,
    OutOfRange = 5,
}
