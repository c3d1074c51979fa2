namespace GrmWorker.Contracts;

/// <summary>
/// Every code the wire carries, in one place (docs/wire.md, "Error codes" and "Where each input goes"): a result's
/// <c>error.code</c>, an error-queue entry's <c>grm-error-code</c> header, the gateway's <c>error.code</c>.
/// </summary>
public static class ErrorCodes
{
    // rejected: the request itself is wrong
    public const string InvalidRequest = "invalid_request";
    public const string TooLarge = "too_large";
    public const string Unsupported = "unsupported";

    // failed: the request was fine, the run was not
    public const string NoValidSamples = "no_valid_samples";
    public const string GenerationTimeout = "generation_timeout";
    public const string InferenceError = "inference_error";
    public const string WorkerLost = "worker_lost";

    // the error queue: nobody can be answered with a result
    public const string InvalidJson = "invalid_json";
    public const string NotAScoreRequest = "not_a_score_request";
    public const string NoRequestId = "no_request_id";
    public const string NotConsumed = "not_consumed";
    public const string Unprocessable = "unprocessable";

    // the HTTP gateway
    public const string Unauthorized = "unauthorized";
    public const string Timeout = "timeout";
    public const string NotScored = "not_scored";
    public const string BrokerUnavailable = "broker_unavailable";
}
