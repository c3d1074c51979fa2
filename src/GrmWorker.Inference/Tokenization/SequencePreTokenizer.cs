namespace GrmWorker.Inference.Tokenization;

/// <summary>HF `Sequence`: each pre-tokenizer runs on every word the previous one produced.</summary>
internal sealed class SequencePreTokenizer(IPreTokenizer[] preTokenizers) : IPreTokenizer
{
    public void PreTokenize(string piece, List<string> words)
    {
        if (preTokenizers.Length == 0)
        {
            words.Add(piece);
            return;
        }

        List<string> current = [piece];
        for (var i = 0; i < preTokenizers.Length; i++)
        {
            var next = i == preTokenizers.Length - 1 ? words : [];
            foreach (var word in current)
            {
                preTokenizers[i].PreTokenize(word, next);
            }

            current = next;
        }
    }
}
