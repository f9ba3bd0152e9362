using Nn.Runtime.Data;
using Nn.Runtime.Engine.Planning;
using Nn.Runtime.Kernels;
using Nn.Runtime.Util;

namespace Nn.Runtime.Engine;

/// <summary>
/// Weights copied into <see cref="GemmPanels"/> layout ahead of the executor that holds them, on another thread:
/// <c>nn predict</c> reads its weights on the input's reader thread while the program compiles, and that thread packs
/// them too, so <see cref="FusedExecutor"/>'s <c>Load</c> takes the panels instead of packing them on the command
/// thread (784×512 and 512×256 for MNIST: ~3.5 ms of fresh pages and copying; issue #18). Which weights the executor
/// keeps in panels is known only after the program is planned, so every weight whose shape could be one
/// (<see cref="WeightLayout.Candidate(int, int)"/>) is packed; a panel the executor does not take is dropped.
/// A packed copy is found by its source array (the same array, unchanged since it was packed: the caller's promise)
/// and handed over once; a weight not packed yet when it is asked for is packed by the asker, and not again here.
/// </summary>
internal sealed class PanelsAhead
{
    private sealed class Entry(float[] source, int rows, int cols)
    {
        public readonly float[] Source = source;
        public readonly int Rows = rows, Cols = cols;
        public float[]? Panels;
        public bool Done, Declined;
    }

    private readonly List<Entry> _entries = [];

    /// <summary>Whether <see cref="Pack"/> would pack a tensor of this shape.</summary>
    public static bool Worth(int[] shape) =>
        WeightLayout.Pays && shape.Length == 2 && WeightLayout.Candidate(shape[0], shape[1]);

    /// <summary>Packs <paramref name="t"/> (when <see cref="Worth"/> it and not already asked for) on the calling
    /// thread.</summary>
    public void Pack(HostTensor t)
    {
        if (!Worth(t.Shape)) return;
        Entry e;
        lock (_entries)
        {
            if (_entries.Any(x => ReferenceEquals(x.Source, t.Data))) return;
            e = new Entry(t.Data, t.Shape[0], t.Shape[1]);
            _entries.Add(e);
        }
        float[]? panels = null;
        try
        {
            panels = Pages.Uninitialized<float>(t.Data.Length); // every element written
            GemmPanels.FromRowMajor(t.Data, e.Rows, e.Cols, panels);
        }
        catch (OutOfMemoryException) { panels = null; }
        finally
        {
            lock (_entries)
            {
                e.Panels = panels;
                e.Done = true;
                Monitor.PulseAll(_entries);
            }
        }
    }

    /// <summary>The panel layout of <paramref name="source"/> (rows × cols, row-major) if it was packed here (waits
    /// while another thread packs it), handed over: the caller owns it. Null when it was not: the caller packs it,
    /// and a later <see cref="Pack"/> of it does nothing.</summary>
    public float[]? Take(float[] source, int rows, int cols)
    {
        lock (_entries)
        {
            var e = _entries.FirstOrDefault(x => ReferenceEquals(x.Source, source));
            if (e is null)
            {
                _entries.Add(new Entry(source, rows, cols) { Done = true, Declined = true });
                return null;
            }
            while (!e.Done) Monitor.Wait(_entries);
            if (e.Declined || e.Rows != rows || e.Cols != cols) return null;
            var panels = e.Panels;
            e.Panels = null;
            e.Declined = true; // handed over once
            return panels;
        }
    }
}
