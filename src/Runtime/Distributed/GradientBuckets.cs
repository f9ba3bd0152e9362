namespace Nn.Runtime.Distributed;

/// <summary>How a data-parallel step sums its gradients over the ranks (docs/distributed.md, "Buckets").</summary>
internal sealed record BucketOptions
{
    /// <summary>A bucket is closed once it holds at least this many bytes of gradients: PyTorch DDP's
    /// <c>bucket_cap_mb</c> (25 MB).</summary>
    public long BucketBytes { get; init; } = 25L << 20;

    /// <summary>The first bucket's limit, small so that the first sum starts early: DDP's first bucket (1 MB).
    /// </summary>
    public long FirstBucketBytes { get; init; } = 1L << 20;

    /// <summary>True sums each bucket on a communication thread as soon as its last gradient is final, while the
    /// backward pass goes on; false sums the buckets one after the other after the step.</summary>
    public bool Overlap { get; init; } = true;

    /// <summary>With <see cref="Overlap"/> under MPI: true starts each bucket as <c>MPI_Iallreduce</c> on the step's
    /// thread and lets it advance with <c>MPI_Test</c> after every kernel; false (the default) sums the buckets on a
    /// communication thread (<see cref="CommunicationThread"/>). Threads as ranks always use the thread.</summary>
    public bool TestBetweenKernels { get; init; }

    /// <summary>One sum of every gradient after the backward pass, on the step's thread (Horovod's tensor fusion of
    /// the whole step; nn before buckets).</summary>
    public static BucketOptions Fused { get; } =
        new() { BucketBytes = long.MaxValue, FirstBucketBytes = long.MaxValue, Overlap = false };

    /// <summary>The options of <c>nn train --bucket-mb</c>: buckets of <paramref name="megabytes"/> MB (the first
    /// one too when smaller than DDP's 1 MB); 0: <see cref="Fused"/>.</summary>
    public static BucketOptions OfMegabytes(double megabytes) =>
        megabytes <= 0 ? Fused : new BucketOptions
        {
            BucketBytes = Math.Max(1, (long)(megabytes * (1 << 20))),
            FirstBucketBytes = Math.Max(1, Math.Min((long)(megabytes * (1 << 20)), 1L << 20)),
        };
}

/// <summary>
/// The gradients of a data-parallel step laid out in one buffer in the order the backward pass finishes them, and
/// cut into buckets as PyTorch DDP cuts them (<c>compute_bucket_assignment_by_size</c>): gradients are appended to a
/// bucket until it holds at least its limit, the first bucket's limit smaller. A bucket is a contiguous range of
/// <see cref="Flat"/>, ready once its last gradient is.
/// </summary>
internal sealed class GradientBuckets
{
    /// <summary>Lays out gradients of <paramref name="sizes"/> floats that are final after kernel
    /// <paramref name="finalAfter"/>[i] (ties, and executors that cannot tell, in reverse order of the parameters, as
    /// DDP's buckets start from the last layer).</summary>
    public GradientBuckets(int[] sizes, int[] finalAfter, BucketOptions options)
    {
        int n = sizes.Length;
        Order = Enumerable.Range(0, n).OrderBy(i => finalAfter[i]).ThenByDescending(i => i).ToArray();
        ReadyAfter = Order.Select(i => finalAfter[i]).ToArray();
        Offsets = new int[n];
        var ends = new List<int>();
        int at = 0;
        long bytes = 0;
        for (int j = 0; j < n; j++)
        {
            int i = Order[j];
            Offsets[i] = at;
            at += sizes[i];
            bytes += 4L * sizes[i];
            if (bytes >= (ends.Count == 0 ? options.FirstBucketBytes : options.BucketBytes) || j == n - 1)
            {
                ends.Add(j + 1);
                bytes = 0;
            }
        }
        Sizes = sizes;
        Ends = ends.ToArray();
        Flat = new float[at];
    }

    /// <summary>The gradients (indices of the parameters) in the order they are final.</summary>
    public int[] Order { get; }
    /// <summary>For each position of <see cref="Order"/>, the kernel after which its gradient is final.</summary>
    public int[] ReadyAfter { get; }
    /// <summary>Each gradient's (by parameter index) first float in <see cref="Flat"/>.</summary>
    public int[] Offsets { get; }
    /// <summary>Each gradient's (by parameter index) number of floats.</summary>
    public int[] Sizes { get; }
    /// <summary>For each bucket, the position in <see cref="Order"/> after its last gradient.</summary>
    public int[] Ends { get; }
    /// <summary>Every gradient, in <see cref="Order"/>.</summary>
    public float[] Flat { get; }

    /// <summary>The floats of bucket <paramref name="b"/>: (first, count).</summary>
    public (int Start, int Count) Range(int b)
    {
        int first = b == 0 ? 0 : Ends[b - 1];
        int start = Offsets[Order[first]], end = Ends[b] == Order.Length ? Flat.Length : Offsets[Order[Ends[b]]];
        return (start, end - start);
    }

    /// <summary>The number of buckets.</summary>
    public int Count => Ends.Length;
}
