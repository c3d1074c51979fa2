namespace GrmWorker.Inference.Tokenization;

/// <summary>HF `Split`: cuts a piece at the matches of a string or regex pattern.</summary>
internal sealed class SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void PreTokenize(string piece, List<string> words)
    {
        var matches = new List<(int Start, int End)>();
        pattern.FindMatches(piece, matches);
        Splitter.Split(piece, matches, behavior, invert, words);
    }
}
