/// `nn train` across processes (data parallelism over Open MPI, docs/distributed.md): `--ranks N` starts `mpirun` for
/// this machine; a process started by `mpirun` joins the job. Rank 0 alone prints and writes the run folder; the other
/// ranks print only their own failure.
module internal Nn.Cli.Distributed

open System
open System.Diagnostics
open System.IO
open Nn.Runtime.Distributed

/// The job this process is a rank of (`mpirun -np N nn train ...`), joined (MPI initialised) on first use; None when
/// the process was not started by mpirun, or by `mpirun -np 1` (one process trains as usual).
let job: Lazy<ICommunicator option> =
    lazy
        (match MpiCommunicator.JobSize() |> Option.ofNullable with
         | Some n when n > 1 -> Some(MpiCommunicator.Join() :> ICommunicator)
         | _ -> None)

/// True on rank 0 of a job and outside any job: the process that prints and writes files.
let isLead () =
    match job.Value with
    | Some c -> c.Rank = 0
    | None -> true

/// `--bucket-mb MB`: the size of the buckets in which a data-parallel step sums its gradients (default: PyTorch DDP's
/// 25 MB, the first 1 MB; 0: one sum of every gradient after the backward pass). Not a number of at least 0: NN0807.
let bucketsOf (value: string option) : BucketOptions =
    let test = Environment.GetEnvironmentVariable "NN_BUCKET_PROGRESS" = "test"
    match value with
    | None -> BucketOptions(TestBetweenKernels = test)
    | Some v ->
        match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, mb when mb >= 0.0 && Double.IsFinite mb ->
            let o = BucketOptions.OfMegabytes mb
            if o.Overlap then BucketOptions(BucketBytes = o.BucketBytes, FirstBucketBytes = o.FirstBucketBytes,
                                            TestBetweenKernels = test)
            else o
        | _ ->
            raise (DataParallelException(DataParallelException.BadBuckets,
                                         sprintf "--bucket-mb needs a number of megabytes of at least 0, got `%s`" v))

/// `--ranks N` (or `--ranks=N`) taken out of the arguments: the count and the other arguments.
let takeRanks (args: string list) : int option * string list =
    let rec go acc =
        function
        | "--ranks" :: n :: rest -> Some n, List.rev acc @ rest
        | (a: string) :: rest when a.StartsWith "--ranks=" -> Some(a.Substring 8), List.rev acc @ rest
        | [ "--ranks" ] -> Some "", List.rev acc
        | a :: rest -> go (a :: acc) rest
        | [] -> None, List.rev acc
    match go [] args with
    | None, rest -> None, rest
    | Some n, rest ->
        match Int32.TryParse n with
        | true, k when k >= 1 -> Some k, rest
        | _ -> raise (Common.UserError(sprintf "--ranks needs a number of processes of at least 1, got `%s`" n))

/// The command that starts this `nn` again: the apphost, or `dotnet nn.dll`.
let private self () =
    let host = Environment.ProcessPath
    if Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase) then
        [ host; Path.Combine(AppContext.BaseDirectory, "nn.dll") ]
    else [ host ]

/// The `mpirun` on PATH, or None.
let mpirun () =
    (Environment.GetEnvironmentVariable "PATH" |> Option.ofObj |> Option.defaultValue "").Split(Path.PathSeparator)
    |> Array.map (fun d -> Path.Combine(d, "mpirun"))
    |> Array.tryFind File.Exists

/// Whether this process runs as root (mpirun refuses root without --allow-run-as-root).
let private root () = OperatingSystem.IsLinux() && Environment.UserName = "root"

/// A rank that ended without reporting an error (killed, crashed): NN0802.
let private rankEnded (ranks: int) (rank: string) (signal: string) (name: string) =
    DataParallelException(
        "NN0802",
        sprintf "rank %s of the job's %d ended on signal %s (%s) without an error of its own; " rank ranks signal name
        + "mpirun ended the other ranks. "
        + "The run folder keeps the checkpoint of the last complete epoch: continue with --resume")

/// `nn train ... --ranks N`: runs `mpirun -np N nn train ...` on this machine (oversubscribed, unbound, one kernel
/// thread per rank unless --threads says otherwise) and returns its exit code. The ranks print their own errors;
/// mpirun's own notices on standard error (its boxes between dashed lines) are left out, and a rank it saw die
/// becomes the error NN0802.
let launch (ranks: int) (args: string list) : int =
    if MpiCommunicator.InJob then
        raise (Common.UserError "--ranks starts mpirun itself; inside an mpirun job leave it out")
    let exe =
        match mpirun () with
        | Some m -> m
        | None ->
            raise (Common.UserError(
                "--ranks needs Open MPI's mpirun, which is not on PATH; install it "
                + "(Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`)"))
    let given (name: string) = List.exists (fun (a: string) -> a = name || a.StartsWith(name + "=")) args
    let threads = if given "--threads" then [] else [ "--threads"; "1" ]
    // ranks whose kernel threads fill the cores leave none to the buckets' communication thread: one sum after the
    // backward pass is faster then (2 ranks on 2 cores, residual.nn's deep net: 0.449 s against 0.65 s with buckets)
    let perRank =
        match List.tryFindIndex (fun (a: string) -> a = "--threads") args with
        | Some i when i + 1 < List.length args -> (match Int32.TryParse args[i + 1] with | true, n -> n | _ -> 1)
        | _ -> 1
    let buckets =
        if given "--bucket-mb" || ranks * perRank < Environment.ProcessorCount then [] else [ "--bucket-mb"; "0" ]
    let psi = ProcessStartInfo(exe, UseShellExecute = false, RedirectStandardError = true)
    let argv =
        [ if root () then "--allow-run-as-root"
          "--oversubscribe"; "--bind-to"; "none"; "-np"; string ranks ]
        @ self () @ [ "train" ] @ args @ threads @ buckets
    for a in argv do psi.ArgumentList.Add a
    // mpirun gives the ranks a pseudo-terminal: when this output is not a terminal, theirs must not act as one
    if Console.IsOutputRedirected then psi.Environment["TERM"] <- "dumb"
    // ranks that wait in an allreduce yield their core rather than spin: this machine's cores are the ranks' own
    // and the kernels' threads (Open MPI spins when it does not see more ranks than cores)
    if isNull (Environment.GetEnvironmentVariable "OMPI_MCA_mpi_yield_when_idle") then
        psi.Environment["OMPI_MCA_mpi_yield_when_idle"] <- "1"
    use p = Process.Start psi
    let died = Text.RegularExpressions.Regex(@"process rank (\d+) .* exited on signal (\d+) \(([^)]*)\)")
    let mutable inBox = false
    let mutable dead = None
    let rec pump () =
        match p.StandardError.ReadLine() with
        | null -> ()
        | line when line.Length >= 20 && line.Trim('-') = "" -> inBox <- not inBox; pump ()
        | line when inBox ->
            let m = died.Match line
            if m.Success && dead.IsNone then dead <- Some(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)
            pump ()
        | line -> eprintfn "%s" line; pump ()
    pump ()
    p.WaitForExit()
    match p.ExitCode, dead with
    | 0, _ -> 0
    | _, Some(rank, signal, name) -> raise (rankEnded ranks rank signal name)
    | code, None -> code

/// Runs a command body in a job: the other ranks print nothing on standard output, and their standard error waits:
/// an error they share with rank 0 (every rank reads the same program and data) is rank 0's to report, and the job
/// ends before they would repeat it; an error of their own (their share of the data) is printed after a moment,
/// named by rank. A failing rank ends the job (MPI_Abort), so no rank waits for it. Outside a job: `body` as it is.
let guardedInJob (body: unit -> int) : int =
    match MpiCommunicator.JobSize() |> Option.ofNullable with
    | Some n when n > 1 ->
        let comm = job.Value.Value
        let stderr = Console.Error
        let held = new StringWriter()
        if comm.Rank <> 0 then
            Console.SetOut TextWriter.Null
            Console.SetError held
        let code = body ()
        if code <> 0 then
            if comm.Rank <> 0 then
                // rank 0 ends the job first when it failed the same way (1.5 s lost that race once at load 35)
                Threading.Thread.Sleep 3000
                stderr.WriteLine(sprintf "nn: rank %d of %d failed:" comm.Rank comm.Size)
                stderr.Write(held.ToString())
                stderr.Flush()
            comm.Abort code
        comm.Dispose()
        code
    | _ -> body ()
