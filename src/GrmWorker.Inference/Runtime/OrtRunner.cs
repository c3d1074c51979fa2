using System.Collections.Concurrent;
using Microsoft.ML.OnnxRuntime;

namespace GrmWorker.Inference.Runtime;

/// <summary>
/// Runs a session with a <see cref="RunOptions"/> of its own per call (rented from a pool: creating one per forward
/// pass costs measurable time at small batches) whose terminate flag the cancellation token sets, so a long forward
/// pass stops soon after cancellation and concurrent runs on one session never stop each other.
/// ONNX Runtime's failures become <see cref="OrtRuntimeException"/>; a terminated run becomes
/// <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class OrtRunner(InferenceSession session, string source)
{
    private static readonly ConcurrentBag<RunOptions> Pool = [];

    public InferenceSession Session { get; } = session;

    /// <summary>outputs = f(inputs) by name; the caller owns the returned values.</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(
        IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs, IReadOnlyCollection<string> outputNames, CancellationToken cancellationToken) =>
        Guard(o => Session.Run(o, inputNames, inputs, outputNames), cancellationToken);

    /// <summary>Runs the binding, fetching nothing back: every output was bound to a value of the caller's.</summary>
    public void RunBound(OrtIoBinding binding, CancellationToken cancellationToken) =>
        Guard(o =>
        {
            Session.RunWithBinding(o, binding);
            return 0;
        }, cancellationToken);

    /// <summary>Runs the binding; the bound outputs are returned in binding order (the caller owns them).</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(OrtIoBinding binding, CancellationToken cancellationToken) =>
        Guard(o => Session.RunWithBoundResults(o, binding), cancellationToken);

    private T Guard<T>(Func<RunOptions, T> run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var runOptions = Pool.TryTake(out var pooled) ? pooled : new RunOptions();
        try
        {
            using (cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions))
            {
                return run(runOptions);
            }
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The forward pass was stopped by cancellation.", cancellationToken);
        }
        catch (OnnxRuntimeException ex)
        {
            throw OrtRuntimeException.From($"ONNX Runtime failed running {source}", ex);
        }
        finally
        {
            // the flag must be cleared before the options are used again
            if (runOptions.Terminate)
            {
                runOptions.Terminate = false;
            }
            Pool.Add(runOptions);
        }
    }
}
