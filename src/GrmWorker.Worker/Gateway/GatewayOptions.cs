namespace GrmWorker.Worker.Gateway;

/// <summary>The HTTP gateway (`grm gateway`): section <c>Gateway</c>, env <c>GRM_GATEWAY__*</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Where it listens.</summary>
    public string Url { get; set; } = "http://0.0.0.0:8090";

    /// <summary>When set, every scoring call needs <c>Authorization: Bearer</c> this; <c>/healthz</c> stays open.</summary>
    public string BearerToken { get; set; } = "";

    /// <summary>How long one HTTP call waits for its results before it answers 504.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest request body accepted (413 above it).</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// The reward <c>/get_reward</c> gives a response whose job was not scored (failed or rejected). Unset: the call
    /// answers 502 naming the job, its code and message, and no reward is invented.
    /// </summary>
    public double? UnscoredReward { get; set; }

    internal static IEnumerable<string> Problems(GatewayOptions o)
    {
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out _)) yield return $"{Section}:Url must be an absolute URL";
        if (o.Timeout <= TimeSpan.Zero) yield return $"{Section}:Timeout must be positive";
        if (o.MaxRequestBytes < 1024) yield return $"{Section}:MaxRequestBytes must be at least 1024";
        if (o.UnscoredReward is { } r && !double.IsFinite(r)) yield return $"{Section}:UnscoredReward must be a finite number";
    }
}
