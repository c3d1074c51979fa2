using System.Text;
using System.Text.RegularExpressions;

namespace GrmWorker.Inference.Tokenization;

/// <summary>
/// A tokenizer.json `pattern`: `{"String": "..."}` (a literal) or `{"Regex": "..."}` (an Oniguruma
/// regex, run here by <see cref="CodePointRegex"/> so that it sees code points as Rust does).
/// </summary>
internal sealed class TextPattern
{
    private readonly string? _literal;
    private readonly CodePointRegex? _regex;

    private TextPattern(string? literal, CodePointRegex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    public static TextPattern Create(JsonField json)
    {
        var literal = json.Optional("String");
        if (!literal.IsNull)
        {
            return new TextPattern(literal.GetString(), null);
        }

        var regex = json.Optional("Regex");
        if (regex.IsNull)
        {
            throw JsonField.Error(json.Path, "must have a \"String\" or a \"Regex\" property");
        }

        try
        {
            return new TextPattern(null, new CodePointRegex(regex.GetString()));
        }
        catch (ArgumentException e)
        {
            throw JsonField.Error(regex.Path, $"is not a regex .NET can run: {e.Message}");
        }
    }

    public static TextPattern FromRegex(string pattern) => new(null, new CodePointRegex(pattern));

    /// <summary>Appends the non-empty, non-overlapping matches as [start, end) UTF-16 ranges.</summary>
    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        if (_regex is not null)
        {
            _regex.FindMatches(text, matches);
            return;
        }

        // An empty literal matches nothing (as in HF).
        if (_literal!.Length == 0)
        {
            return;
        }

        var at = 0;
        while ((at = text.IndexOf(_literal, at, StringComparison.Ordinal)) >= 0)
        {
            matches.Add((at, at + _literal.Length));
            at += _literal.Length;
        }
    }

    public string Replace(string text, string content)
    {
        if (_literal is not null)
        {
            return _literal.Length == 0 ? text : text.Replace(_literal, content, StringComparison.Ordinal);
        }

        var matches = new List<(int Start, int End)>();
        FindMatches(text, matches);
        if (matches.Count == 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        var previous = 0;
        foreach (var (start, end) in matches)
        {
            sb.Append(text, previous, start - previous).Append(content);
            previous = end;
        }

        return sb.Append(text, previous, text.Length - previous).ToString();
    }
}
