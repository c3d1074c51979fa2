namespace GrmWorker.Worker.Hosting;

/// <summary>The worker's HTTP endpoints (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>): section <c>Http</c>.</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Where to listen, e.g. <c>http://0.0.0.0:8080</c>; port 0 picks a free one; empty turns HTTP off.</summary>
    public string Url { get; set; } = "http://0.0.0.0:8080";

    internal static IEnumerable<string> Problems(HttpOptions o)
    {
        if (!string.IsNullOrWhiteSpace(o.Url) && !Uri.TryCreate(o.Url, UriKind.Absolute, out _)) yield return $"{Section}:Url must be an absolute URL or empty";
    }
}
