namespace GrmWorker.Inference.Tokenization;

/// <summary>A merge rule's priority (its line in `merges`, lower first) and the id it produces.</summary>
internal readonly record struct BpeMerge(int Rank, int NewId);
