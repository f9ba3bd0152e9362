/// The embedding API joins a job (TrainerOptions.Communicator): N trainers, one per rank, each Fit on the same arrays,
/// train the model one trainer trains alone, within float32 rounding. The ranks are threads of this process (their
/// communicator: the runtime's LocalCommunicator, which the data-parallel tests of the runtime use too).
module Nn.Tests.Compiler.EmbeddingDistributedTests

open System
open System.IO
open System.Threading
open Expecto
open Nn
open Nn.Runtime.Distributed
open Nn.Tests

/// The ranks of one job as threads of this process: the runtime's LocalCommunicator (collectives sum in rank order,
/// so every rank gets the same bits, as MPI's allreduce guarantees).
type internal ThreadJob(size: int) =
    let ranks = LocalCommunicator.Create size
    member _.Size = size
    member _.Rank(rank: int) : ICommunicator = ranks[rank]
    /// Runs `work rank` on every rank, each on its own thread; the results by rank. A rank that throws aborts the job
    /// (so that no other rank waits for it in a collective) and the failures are raised together.
    member _.OnRanks(work: int -> 'a) : 'a[] =
        let results = Array.zeroCreate size
        let failures = Collections.Concurrent.ConcurrentBag<exn>()
        let threads =
            [| for r in 0 .. size - 1 ->
                Thread(fun () ->
                    try results[r] <- work r
                    with e ->
                        failures.Add e
                        try ranks[r].Abort 1 with _ -> ()) |]
        for t in threads do t.Start()
        for t in threads do t.Join()
        if not failures.IsEmpty then raise (AggregateException failures)
        results

let private model () =
    NnModel.CompileFile(Path.Combine(TestUtil.repoRoot, "examples", "xor.nn")).EnsureSuccess()

let private features = array2D [ [ 0.f; 0.f ]; [ 0.f; 1.f ]; [ 1.f; 0.f ]; [ 1.f; 1.f ] ]
let private targets = array2D [ [ 0.f ]; [ 1.f ]; [ 1.f ]; [ 0.f ] ]

[<Tests>]
let tests =
    testList "Compiler.EmbeddingDistributed" [
        test "two trainers joined by a communicator train what one trainer trains" {
            let one = model().CreateTrainer(TrainerOptions(Epochs = 25))
            let alone = one.Fit(features, targets)
            let job = ThreadJob 2
            let trainers =
                [| for r in 0 .. 1 ->
                    let c = new NnCommunicator(job.Rank r)
                    Expect.equal (c.Rank, c.Size) (r, 2) "rank and size"
                    model().CreateTrainer(TrainerOptions(Epochs = 25, Communicator = c)) |]
            let results = Array.zeroCreate 2
            let threads =
                trainers |> Array.mapi (fun r t -> Thread(fun () -> results[r] <- t.Fit(features, targets)))
            for t in threads do t.Start()
            for t in threads do t.Join()
            for r in 0 .. 1 do
                let res: TrainingResult = results[r]
                Expect.equal res.History.Count alone.History.Count "epochs"
                for a, b in Seq.zip alone.History res.History do
                    Expect.floatClose { absolute = 1e-6; relative = 1e-4 } b.Loss a.Loss
                        (sprintf "rank %d epoch %d loss" r a.Epoch)
                for p in [ "dense1.w"; "dense2.w" ] do
                    let x, y = one.GetParameter(p).ToArray(), trainers[r].GetParameter(p).ToArray()
                    Array.iteri2 (fun i (u: float32) (v: float32) ->
                        Expect.floatClose { absolute = 1e-6; relative = 1e-4 } (float v) (float u)
                            (sprintf "rank %d %s[%d]" r p i)) x y
        }

    ]
