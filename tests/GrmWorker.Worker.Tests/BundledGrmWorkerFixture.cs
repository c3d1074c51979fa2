using System.Globalization;

namespace GrmWorker.Worker.Tests;

[CollectionDefinition(Name)]
public sealed class BundledGrmCollection : ICollectionFixture<BundledGrmWorkerFixture>
{
    public const string Name = "bundled-grm";
}

/// <summary>
/// The in-process worker of <see cref="WorkerFixture"/> with the bundled trained GRM (models/grm-tiny) and the meta-RM
/// its grm-config.json names, at a k that lets voting and early stopping matter. Own database and request queue.
/// </summary>
public sealed class BundledGrmWorkerFixture : WorkerFixture
{
    public const int BundledKMax = 8;
    public const int BundledMaxNewTokens = 256;

    public static string ModelDir { get; } = Path.Combine(ServiceSettings.RepoRoot, "models", "grm-tiny");

    protected override void ConfigureSettings(IDictionary<string, string?> settings)
    {
        settings["Model:Directory"] = ModelDir;
        settings["Stopping:KMax"] = BundledKMax.ToString(CultureInfo.InvariantCulture);
        settings["Stopping:KMin"] = "4";
        settings["Stopping:RoundSize"] = "4";
        settings["Worker:DefaultMaxNewTokens"] = BundledMaxNewTokens.ToString(CultureInfo.InvariantCulture);
    }
}
