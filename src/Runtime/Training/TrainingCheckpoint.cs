using System.Globalization;
using Nn.Runtime.Checkpoints;
using Nn.Runtime.Data;

namespace Nn.Runtime.Training;

/// <summary>
/// A <see cref="TrainingState"/> as one safetensors file, written atomically. Tensors: every Param and State under
/// its own name (so the file is also a plain weights file other tools can read), and the best weights so far, when
/// kept, as <c>best:&lt;name&gt;</c>. Metadata (strings): <c>nn.epochs_done</c>, <c>nn.steps</c>,
/// <c>nn.shuffle_rng</c> (four unsigned words), <c>nn.schedule</c> and <c>nn.stopping</c> (round-trip doubles,
/// space-separated), <c>nn.format</c> = <c>training-state/1</c>.
/// </summary>
internal static class TrainingCheckpoint
{
    private const string BestPrefix = "best:";
    private const string Format = "training-state/1";

    /// <summary>The file name used inside a <c>checkpoint</c> folder.</summary>
    public const string FileName = "last.safetensors";

    /// <summary>Writes <paramref name="state"/> to <paramref name="path"/> (atomically: a crash leaves the old file).</summary>
    /// <exception cref="DataException">NN0706 when the file cannot be written</exception>
    public static void Save(string path, TrainingState state)
    {
        var tensors = state.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new KeyValuePair<string, RawTensor>(kv.Key, RawTensor.FromHost(kv.Value)))
            .Concat((state.BestValues ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new KeyValuePair<string, RawTensor>(BestPrefix + kv.Key, RawTensor.FromHost(kv.Value))));
        var meta = new Dictionary<string, string>
        {
            ["nn.format"] = Format,
            ["nn.epochs_done"] = state.EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["nn.steps"] = state.Steps.ToString(CultureInfo.InvariantCulture),
            ["nn.shuffle_rng"] = string.Join(" ", state.ShuffleRng.Select(w => w.ToString(CultureInfo.InvariantCulture))),
            ["nn.schedule"] = Doubles(state.Schedule),
        };
        if (state.Stopping is { } s) meta["nn.stopping"] = Doubles(s);
        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>Reads a state written by <see cref="Save"/>; its records are parsed strictly and checked by
    /// <see cref="ResumeCheck.CheckState"/> (check its tensors against the step with
    /// <see cref="ResumeCheck.Check"/>).</summary>
    /// <exception cref="DataException">from the safetensors reader for a missing or corrupt file; NN0711 when the file
    /// is a safetensors file but not a valid training state (naming the record)</exception>
    public static TrainingState Load(string path)
    {
        var c = SafeTensors.Read(path);
        DataException Bad(string what) =>
            new(DataErrorCodes.CheckpointBadState, path, $"{DataException.NameOf(path)}: cannot resume: {what}");
        string Meta(string key) => c.Metadata.TryGetValue(key, out var v) ? v
            : throw Bad($"it has no `{key}` record; it is not a training state");
        T Parse<T>(string key, string text, string what) where T : ISpanParsable<T> =>
            T.TryParse(text, CultureInfo.InvariantCulture, out var v) ? v
                : throw Bad($"its `{key}` record holds `{text}`, which is not {what}");
        double[] Doubles(string key, string s) =>
            s.Length == 0 ? [] : s.Split(' ').Select(x => Parse<double>(key, x, "a number")).ToArray();
        if (Meta("nn.format") != Format) throw Bad($"unknown training-state format `{Meta("nn.format")}`");
        var values = new Dictionary<string, HostTensor>();
        Dictionary<string, HostTensor>? best = null;
        foreach (var name in c.Names)
        {
            if (name.StartsWith(BestPrefix, StringComparison.Ordinal)) (best ??= [])[name[BestPrefix.Length..]] = c[name].ToHost();
            else values[name] = c[name].ToHost();
        }
        var state = new TrainingState(
            Parse<int>("nn.epochs_done", Meta("nn.epochs_done"), "a whole number"),
            Parse<long>("nn.steps", Meta("nn.steps"), "a whole number"),
            values,
            Meta("nn.shuffle_rng").Split(' ').Select(w => Parse<ulong>("nn.shuffle_rng", w, "a 64-bit word")).ToArray(),
            Doubles("nn.schedule", Meta("nn.schedule")),
            c.Metadata.TryGetValue("nn.stopping", out var st) ? Doubles("nn.stopping", st) : null,
            best);
        ResumeCheck.CheckState(state, path);
        return state;
    }

    private static string Doubles(double[] xs) => string.Join(" ", xs.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
}
