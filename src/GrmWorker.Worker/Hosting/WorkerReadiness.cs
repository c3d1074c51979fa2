namespace GrmWorker.Worker.Hosting;

/// <summary>What <c>/readyz</c> needs besides a healthy bus: migrations applied and the model loaded.</summary>
public sealed class WorkerReadiness
{
    private volatile bool _migrated;
    private volatile bool _modelLoaded;

    public bool Migrated => _migrated;

    public bool ModelLoaded => _modelLoaded;

    public void MarkMigrated() => _migrated = true;

    public void MarkModelLoaded() => _modelLoaded = true;
}
