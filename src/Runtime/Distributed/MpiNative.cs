using System.Runtime.InteropServices;

namespace Nn.Runtime.Distributed;

/// <summary>
/// The thin layer over Open MPI's <c>libmpi</c>: the fifteen functions data parallelism needs, looked up by name when
/// first used (a run without MPI never loads the library). Open MPI's handles (<c>MPI_COMM_WORLD</c>,
/// <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, ...) are the addresses of global symbols (<c>ompi_mpi_comm_world</c>, ...),
/// taken with <see cref="NativeLibrary.GetExport"/>; <c>MPI_IN_PLACE</c> is the pointer 1 and
/// <c>MPI_STATUS_IGNORE</c> the null pointer, as Open MPI's <c>mpi.h</c> defines them. The library is opened with
/// <c>RTLD_GLOBAL</c> (through <c>dlopen</c>) so that the plugins Open MPI loads see its symbols.
/// </summary>
internal sealed class MpiNative
{
    /// <summary>MPI_THREAD_SERIALIZED (Open MPI's value): one thread at a time calls MPI, ours.</summary>
    public const int ThreadSerialized = 2;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int InitThreadFn(IntPtr argc, IntPtr argv, int required, out int provided);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int FlagFn(out int flag);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int CommIntFn(IntPtr comm, out int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AllreduceFloatFn(IntPtr send, ref float recv, int count, IntPtr type, IntPtr op, IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AllreduceDoubleFn(IntPtr send, ref double recv, int count, IntPtr type, IntPtr op,
        IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int IallreduceFn(IntPtr send, IntPtr recv, int count, IntPtr type, IntPtr op, IntPtr comm,
        out IntPtr request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int TestFn(ref IntPtr request, out int flag, IntPtr status);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int WaitFn(ref IntPtr request, IntPtr status);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int BcastFn(ref byte buffer, int count, IntPtr type, int root, IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int SendFn(ref float buffer, int count, IntPtr type, int dest, int tag, IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int RecvFn(ref float buffer, int count, IntPtr type, int source, int tag, IntPtr comm,
        IntPtr status);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int CommFn(IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AbortFn(IntPtr comm, int code);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int VoidFn();

    public readonly InitThreadFn InitThread;
    public readonly FlagFn Initialized, Finalized;
    public readonly CommIntFn CommRank, CommSize;
    public readonly AllreduceFloatFn AllreduceFloat;
    public readonly AllreduceDoubleFn AllreduceDouble;
    public readonly IallreduceFn Iallreduce;
    public readonly TestFn Test;
    public readonly WaitFn Wait;
    public readonly BcastFn Bcast;
    public readonly SendFn Send;
    public readonly RecvFn Recv;
    public readonly CommFn Barrier;
    public readonly AbortFn Abort;
    public readonly VoidFn Finalize;
    /// <summary>The predefined handles.</summary>
    public readonly IntPtr CommWorld, Float, Double, Byte, Sum;
    /// <summary>MPI_IN_PLACE in Open MPI.</summary>
    public static readonly IntPtr InPlace = 1;

    private MpiNative(IntPtr lib)
    {
        T Fn<T>(string name) where T : Delegate =>
            Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(lib, name));
        InitThread = Fn<InitThreadFn>("MPI_Init_thread");
        Initialized = Fn<FlagFn>("MPI_Initialized");
        Finalized = Fn<FlagFn>("MPI_Finalized");
        CommRank = Fn<CommIntFn>("MPI_Comm_rank");
        CommSize = Fn<CommIntFn>("MPI_Comm_size");
        AllreduceFloat = Fn<AllreduceFloatFn>("MPI_Allreduce");
        AllreduceDouble = Fn<AllreduceDoubleFn>("MPI_Allreduce");
        Iallreduce = Fn<IallreduceFn>("MPI_Iallreduce");
        Test = Fn<TestFn>("MPI_Test");
        Wait = Fn<WaitFn>("MPI_Wait");
        Bcast = Fn<BcastFn>("MPI_Bcast");
        Send = Fn<SendFn>("MPI_Send");
        Recv = Fn<RecvFn>("MPI_Recv");
        Barrier = Fn<CommFn>("MPI_Barrier");
        Abort = Fn<AbortFn>("MPI_Abort");
        Finalize = Fn<VoidFn>("MPI_Finalize");
        CommWorld = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        Float = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        Double = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        Byte = NativeLibrary.GetExport(lib, "ompi_mpi_byte");
        Sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");
    }

    private static MpiNative? _loaded;
    private static readonly object Gate = new();

    /// <summary>The library's names, most specific first (Debian's runtime package ships only the versioned one).
    /// </summary>
    private static readonly string[] Names = ["libmpi.so.40", "libmpi.so", "libmpi.so.12"];

    /// <summary>Loads libmpi once.</summary>
    /// <exception cref="DllNotFoundException">when no libmpi can be opened, or it is not Open MPI's</exception>
    public static MpiNative Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            var tried = new List<string>();
            foreach (var name in Names)
            {
                var lib = DlOpen(name);
                if (lib == IntPtr.Zero) { tried.Add(name); continue; }
                try { return _loaded = new MpiNative(lib); }
                catch (EntryPointNotFoundException e)
                {
                    throw new DllNotFoundException($"{name} is not Open MPI's libmpi ({e.Message})");
                }
            }
            throw new DllNotFoundException(
                $"Open MPI's libmpi was not found (tried {string.Join(", ", tried)}); "
                + "install it with `apt-get install openmpi-bin libopenmpi-dev`");
        }
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern IntPtr NativeDlOpen(string file, int mode);

    /// <summary>dlopen with RTLD_GLOBAL on Linux (Open MPI's plugins resolve libmpi's symbols globally); elsewhere the
    /// runtime's loader.</summary>
    private static IntPtr DlOpen(string name)
    {
        if (OperatingSystem.IsLinux())
        {
            try { return NativeDlOpen(name, RtldNow | RtldGlobal); }
            catch (DllNotFoundException) { }
            catch (EntryPointNotFoundException) { }
        }
        return NativeLibrary.TryLoad(name, out var h) ? h : IntPtr.Zero;
    }
}
