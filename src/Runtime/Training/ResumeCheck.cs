using System.Globalization;
using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Training;

/// <summary>
/// What a checkpoint must hold before training continues from it: strict loading of the model and the optimizer
/// together, as PyTorch's <c>load_state_dict(strict=True)</c> on both does. Nothing is re-initialised in silence.
/// <list type="bullet">
/// <item>Every Param and State of the training step (weights, optimizer moments, running statistics) is present, with
///   its shape; the checkpoint holds no tensor the step does not have; the best weights, when kept, are complete too
///   (NN0708).</item>
/// <item>Every value is finite (NN0710): the trainer never saves a step that produced NaN or infinity.</item>
/// <item>The training state is one the trainer can have written (NN0711): epochs and steps not negative, at least one
///   step per finished epoch, four words of shuffling generator not all zero (xoshiro never reaches that state),
///   the schedule's three numbers (a positive finite scale, a best value, a whole wait count) and early stopping's
///   three (a best value, a best epoch from -1 to the last finished one, a whole wait count).</item>
/// </list>
/// Every failure is a <see cref="DataException"/> naming the file.
/// </summary>
internal static class ResumeCheck
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Checks <paramref name="state"/>, read from <paramref name="path"/>, against the training step of
    /// <paramref name="graphs"/>.</summary>
    /// <exception cref="DataException">NN0708, NN0710 or NN0711 (see the class summary)</exception>
    public static void Check(TrainingState state, StepGraphs graphs, string path)
    {
        CheckState(state, path);
        CheckTensors(state.Values, graphs, path, "");
        if (state.BestValues is { } best) CheckTensors(best, graphs, path, "best:");
    }

    /// <summary>The checks of the training state's numbers alone (no network needed).</summary>
    /// <exception cref="DataException">NN0711</exception>
    public static void CheckState(TrainingState s, string path)
    {
        if (s.EpochsDone < 0)
            throw BadState(path, $"its epoch is {s.EpochsDone}, but it counts finished epochs (0 or more)");
        if (s.Steps < 0) throw BadState(path, $"its step is {s.Steps}, but it counts the steps taken (0 or more)");
        if (s.Steps < s.EpochsDone)
            throw BadState(path,
                $"it records {s.EpochsDone} finished epochs but only {s.Steps} steps "
                + "(every epoch takes at least one step)");
        if (s.ShuffleRng is not { Length: 4 } rng)
            throw BadState(path,
                $"its shuffling state (`rng`) has {s.ShuffleRng?.Length ?? 0} words, "
                + "but the generator's state is 4 words");
        if (rng.All(w => w == 0))
            throw BadState(path, "its shuffling state (`rng`) is all zeros, a state the generator never reaches");
        CheckTriple(s.Schedule, "schedule", "scale, best value and wait count", path);
        if (!(double.IsFinite(s.Schedule[0]) && s.Schedule[0] > 0))
            throw BadState(path, $"its schedule's rate scale is {Num(s.Schedule[0])}, but it is a positive number");
        CheckCount(s.Schedule[2], "schedule's wait count", path);
        if (s.Stopping is { } st)
        {
            CheckTriple(st, "early_stopping", "best value, best epoch and wait count", path);
            if (!(st[1] == Math.Floor(st[1]) && st[1] >= -1 && st[1] < s.EpochsDone))
                throw BadState(path, $"its early stopping's best epoch is {Num(st[1])}, " +
                    $"but it is a finished epoch (0 to {s.EpochsDone - 1}) or -1");
            CheckCount(st[2], "early stopping's wait count", path);
        }
    }

    /// <summary>Requires every value of <paramref name="t"/> to be finite.</summary>
    /// <exception cref="DataException">NN0710, naming the tensor, its first bad element and the file</exception>
    public static void RequireFinite(string path, string name, HostTensor t)
    {
        var data = t.Data;
        if (ElementOps.AllFinite(data)) return; // vectors; the loop below finds the first bad value for the message
        for (int i = 0; i < data.Length; i++)
        {
            if (float.IsFinite(data[i])) continue;
            int count = 0;
            foreach (float v in data) if (!float.IsFinite(v)) count++;
            string what = float.IsNaN(data[i]) ? "NaN" : data[i] > 0 ? "infinity" : "-infinity";
            throw new DataException(DataErrorCodes.CheckpointNonFinite, path,
                $"{DataException.NameOf(path)}: `{name}` holds {what} at {Index(t.Shape, i)} " +
                $"({count} of its {data.Length} values are not finite); " +
                "these weights come from a run that diverged or from a damaged file");
        }
    }

    private static void CheckTensors(
        IReadOnlyDictionary<string, HostTensor> values, StepGraphs graphs, string path, string prefix)
    {
        string file = DataException.NameOf(path);
        var nodes = graphs.Params.Concat(graphs.States).DistinctBy(n => n.Name).ToList();
        var paramNames = graphs.Params.Select(p => p.Name!).ToHashSet(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            string name = node.Name!;
            if (!values.TryGetValue(name, out var t))
                throw new DataException(DataErrorCodes.CheckpointMismatch, path,
                    $"{file}: cannot resume: it has no `{prefix}{name}` ({Kind(node, paramNames)}); " +
                    "it was written for another network or other settings (optimizer, layers), or it is damaged");
            int[] want = node.Shape.Resolve(new Dictionary<string, int>());
            if (!want.AsSpan().SequenceEqual(t.Shape))
                throw new DataException(DataErrorCodes.CheckpointMismatch, path,
                    $"{file}: cannot resume: `{prefix}{name}` is {HostTensor.FormatShape(t.Shape)} in the file, " +
                    $"but the network's is {node.Shape}");
            RequireFinite(path, prefix + name, t);
        }
        var known = nodes.Select(n => n.Name!).ToHashSet(StringComparer.Ordinal);
        foreach (var name in values.Keys.Order(StringComparer.Ordinal))
            if (!known.Contains(name))
                throw new DataException(DataErrorCodes.CheckpointMismatch, path,
                    $"{file}: cannot resume: it holds `{prefix}{name}`, which the training step does not have " +
                    "(it was written for another network or other settings, such as another optimizer)");
    }

    private static string Kind(Node node, HashSet<string> paramNames)
    {
        if (node.Op == OpKind.Param) return "a parameter of the network";
        string name = node.Name!;
        int dot = name.LastIndexOf('.');
        return dot > 0 && paramNames.Contains(name[..dot])
            ? $"the optimizer's `{name[(dot + 1)..]}` slot of `{name[..dot]}`"
            : "a state of the network";
    }

    private static void CheckTriple(double[]? xs, string key, string parts, string path)
    {
        if (xs is not { Length: 3 })
        {
            int n = xs?.Length ?? 0;
            throw BadState(path,
                $"its `{key}` record has {n} {(n == 1 ? "number" : "numbers")}, but it holds 3 ({parts})");
        }
    }

    private static void CheckCount(double x, string what, string path)
    {
        if (!(x >= 0 && x == Math.Floor(x) && x <= int.MaxValue))
            throw BadState(path, $"its {what} is {Num(x)}, but it is a whole number (0 or more)");
    }

    private static DataException BadState(string path, string what) =>
        new(DataErrorCodes.CheckpointBadState, path, $"{DataException.NameOf(path)}: cannot resume: {what}");

    private static string Num(double x) => x.ToString("R", Inv);

    private static string Index(int[] shape, int flat)
    {
        if (shape.Length == 0) return "its only element";
        var idx = new int[shape.Length];
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            int size = Math.Max(1, shape[a]);
            idx[a] = flat % size;
            flat /= size;
        }
        return "[" + string.Join(", ", idx) + "]";
    }
}
