using System.Security.Cryptography;
using System.Text;

namespace GrmWorker.Worker.Relabel;

/// <summary>
/// Deterministic requestIds and routes, so a second run re-sends the SAME ids and the worker's idempotency (a known
/// requestId is never scored again; its stored result is published again) guarantees nothing is scored twice.
/// <list type="bullet">
/// <item>requestId of a line without one: <c>rl-</c> + the first 32 hex digits of SHA-256 over
/// <c>runKey \n occurrence \n canonical line</c>, where the canonical line is the line's JSON re-written compactly
/// (whitespace does not matter, field order does) and occurrence counts earlier lines of the same canonical text
/// (0 for the first), so repeated lines are separate jobs and inserting other lines changes no id.</item>
/// <item>route of a line without one: <c>prefix.</c> + the first 12 hex digits of SHA-256 over the run key. It must
/// not change between runs: the worker republishes a stored result to the route it was stored with.</item>
/// </list>
/// </summary>
internal static class RelabelRequestIds
{
    public const string Prefix = "rl-";

    public static string Derive(string runKey, int occurrence, string canonicalLine) =>
        Prefix + Hex($"{runKey}\n{occurrence}\n{canonicalLine}", 32);

    public static string Route(string routePrefix, string runKey) => $"{routePrefix}.{Hex(runKey, 12)}";

    private static string Hex(string text, int digits) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..digits];
}
