using Nn.Runtime.Data;

namespace Nn.Runtime.Training;

/// <summary>What <see cref="IStepExecutor.Load"/> checks of each value before an executor takes it.</summary>
internal static class LoadedValues
{
    /// <summary>The shape of parameter or state <paramref name="name"/> in <paramref name="shapes"/>, after checking
    /// that the network has it and that <paramref name="value"/> has that shape.</summary>
    public static int[] Check(IReadOnlyDictionary<string, int[]> shapes, string name, HostTensor value)
    {
        if (!shapes.TryGetValue(name, out var shape))
            throw new ArgumentException($"the network has no parameter or state `{name}`");
        if (!shape.SequenceEqual(value.Shape))
            throw new ArgumentException($"`{name}` has shape {HostTensor.FormatShape(shape)} "
                + $"but the value has {HostTensor.FormatShape(value.Shape)}");
        return shape;
    }
}
