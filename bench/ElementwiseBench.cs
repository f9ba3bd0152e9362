namespace Nn.Bench;

internal static class ElementwiseBench
{
    public static void Run(Peak.Result peak) { }
}
