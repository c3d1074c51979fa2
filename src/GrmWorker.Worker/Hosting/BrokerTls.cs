using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace GrmWorker.Worker.Hosting;

/// <summary>
/// Server-certificate checks for the broker's TLS connections (MassTransit's and our own RabbitMQ.Client ones).
/// With <see cref="RabbitMqOptions.TlsCaFile"/> the chain must end at that CA (a private CA, as the local scripts
/// make); without it the system store decides. A wrong host name is always refused.
/// </summary>
internal static class BrokerTls
{
    /// <summary>The validation callback for <paramref name="o"/>; null (the platform's default checks) without a CA file.</summary>
    public static RemoteCertificateValidationCallback? Validation(RabbitMqOptions o)
    {
        if (!o.UseTls || string.IsNullOrWhiteSpace(o.TlsCaFile)) return null;
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(o.TlsCaFile));
        return (_, certificate, _, errors) => IsTrusted(certificate, errors, ca);
    }

    internal static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2 ca)
    {
        if (errors == SslPolicyErrors.None) return true;
        // Only an untrusted chain is ours to judge again; a missing certificate or a wrong name stays an error.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
