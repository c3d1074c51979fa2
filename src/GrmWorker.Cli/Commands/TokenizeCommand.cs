using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using GrmWorker.Inference.Tokenization;

namespace GrmWorker.Cli.Commands;

/// <summary>
/// `grm tokenize --tokenizer PATH [--add-special-tokens] [--decode [--skip-special-tokens]]`:
/// stdin has one JSON string per line (or one JSON array of ids with --decode); stdout gets one
/// JSON array of ids (or one JSON string) per line. The first bad line stops the run with
/// "line N: ..." on stderr and exit code 2; lines before it have been answered. A tokenizer.json
/// that cannot be loaded exits with 1.
/// </summary>
internal static class TokenizeCommand
{
    private static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Build()
    {
        var tokenizerPath = new Option<string>("--tokenizer") { Description = "Path of a Hugging Face tokenizer.json.", Required = true };
        var addSpecial = new Option<bool>("--add-special-tokens") { Description = "Run the post-processor (e.g. add BOS) when encoding." };
        var decode = new Option<bool>("--decode") { Description = "Read JSON arrays of ids and print JSON strings." };
        var skipSpecial = new Option<bool>("--skip-special-tokens") { Description = "With --decode: leave special tokens out of the text." };
        var command = new Command("tokenize", "Encode JSON strings (one per line on stdin) to ids, or decode ids with --decode.")
        {
            tokenizerPath, addSpecial, decode, skipSpecial,
        };
        command.SetAction((ParseResult result, CancellationToken ct) => Run(
            result.GetValue(tokenizerPath)!, result.GetValue(addSpecial), result.GetValue(decode), result.GetValue(skipSpecial), ct));
        return command;
    }

    private static async Task<int> Run(string path, bool addSpecial, bool decode, bool skipSpecial, CancellationToken ct)
    {
        Tokenizer tokenizer;
        try
        {
            tokenizer = Tokenizer.Load(path);
        }
        catch (TokenizerFormatException e)
        {
            await Console.Error.WriteLineAsync(e.Message.AsMemory(), ct);
            return 1;
        }

        using var input = new StreamReader(Console.OpenStandardInput());
        await using var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
        var lineNumber = 0;
        while (await input.ReadLineAsync(ct) is { } line)
        {
            lineNumber++;
            string answer;
            try
            {
                answer = decode ? DecodeLine(tokenizer, line, skipSpecial) : EncodeLine(tokenizer, line, addSpecial);
            }
            catch (JsonException e)
            {
                await output.FlushAsync(ct);
                await Console.Error.WriteLineAsync($"line {lineNumber}: {e.Message}".AsMemory(), ct);
                return 2;
            }

            await output.WriteLineAsync(answer.AsMemory(), ct);
        }

        await output.FlushAsync(ct);
        return 0;
    }

    private static string EncodeLine(Tokenizer tokenizer, string line, bool addSpecial)
    {
        var text = JsonSerializer.Deserialize<string>(line) ?? throw new JsonException("expected a JSON string, found null");
        return JsonSerializer.Serialize(tokenizer.Encode(text, addSpecial));
    }

    private static string DecodeLine(Tokenizer tokenizer, string line, bool skipSpecial)
    {
        var ids = JsonSerializer.Deserialize<int[]>(line) ?? throw new JsonException("expected a JSON array of ids, found null");
        return JsonSerializer.Serialize(tokenizer.Decode(ids, skipSpecial), OutputJson);
    }
}
