using GrmWorker.Contracts;

namespace GrmWorker.Scoring.Aggregation;

/// <summary>
/// An aggregation strategy by its wire name; the live pipeline and replay both call this, so a
/// stored job re-aggregates with exactly the code that scored it.
/// </summary>
public sealed record Aggregator(string Kind, MetaRmOptions MetaRm)
{
    public static Aggregator Voting { get; } = new(AggregationKind.Voting, new MetaRmOptions());

    public static Aggregator For(string kind, MetaRmOptions? metaRm = null) => kind switch
    {
        AggregationKind.Voting => new Aggregator(kind, metaRm ?? new MetaRmOptions()),
        AggregationKind.MetaRm => new Aggregator(kind, metaRm ?? new MetaRmOptions()),
        _ => throw new ArgumentException($"unknown aggregation '{kind}'", nameof(kind)),
    };

    public VoteResult Aggregate(IReadOnlyList<GrmSample> samples, int responseCount) => Kind switch
    {
        AggregationKind.MetaRm => MetaRmVoting.Vote(samples, responseCount, MetaRm),
        _ => Aggregation.Voting.Vote(samples, responseCount),
    };
}
