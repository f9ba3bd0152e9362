/// The kernels' worker pool: every part of every job runs once, on the thread that always runs that part; a job handed
/// to a worker that has stopped spinning and blocked still runs (no lost wake-up); a part's exception reaches the
/// caller.
module Nn.Tests.Runtime.Kernels.WorkerPoolTests

open System
open System.Threading
open Expecto
open Nn.Runtime.Kernels

/// A job that counts each part's runs and records the thread that ran it.
type private Counting(parts: int) =
    let runs = Array.zeroCreate<int> parts
    let threads = Array.create parts -1
    member _.Runs = runs
    member _.Threads = threads
    interface IParallelWork with
        member _.Execute(index, count) =
            if count <> parts then failwithf "count %d, expected %d" count parts
            Interlocked.Increment(&runs[index]) |> ignore
            threads[index] <- Environment.CurrentManagedThreadId

let private withSpin (microseconds: int) f =
    let saved = WorkerPool.SpinMicroseconds
    WorkerPool.SpinMicroseconds <- microseconds
    try f () finally WorkerPool.SpinMicroseconds <- saved

[<Tests>]
let tests =
    testSequenced <| testList "Runtime.Kernels.WorkerPool" [
        test "10,000 jobs back to back: each part once per job, part i always on the same thread" {
            let pool = WorkerPool(2)
            let job = Counting 2
            let firstThreads = Array.create 2 -1
            for j in 1 .. 10000 do
                pool.Run(job, 2)
                if j = 1 then Array.blit job.Threads 0 firstThreads 0 2
                Expect.sequenceEqual job.Threads firstThreads (sprintf "job %d: the parts' threads" j)
            Expect.sequenceEqual job.Runs [| 10000; 10000 |] "runs of each part"
            Expect.equal firstThreads[0] Environment.CurrentManagedThreadId "part 0 runs on the caller"
            Expect.notEqual firstThreads[1] firstThreads[0] "part 1 runs on a worker"
        }

        test "a job handed to a worker that blocked runs (the spin long over)" {
            withSpin 0 (fun () ->
                let pool = WorkerPool(2)
                let job = Counting 2
                for j in 1 .. 200 do
                    // the worker blocks at once (no spin); alternate long and short gaps between jobs
                    if j % 20 = 0 then Thread.Sleep 5
                    pool.Run(job, 2)
                Expect.sequenceEqual job.Runs [| 200; 200 |] "runs of each part")
        }

        test "jobs after a pause longer than the spin, with the default spin" {
            let pool = WorkerPool(2)
            let job = Counting 2
            for _ in 1 .. 3 do
                pool.Run(job, 2)
                Thread.Sleep(WorkerPool.SpinMicroseconds / 1000 + 20)
            Expect.sequenceEqual job.Runs [| 3; 3 |] "runs of each part"
        }

        test "an exception in a worker's part is rethrown to the caller, and the pool runs the next job" {
            let pool = WorkerPool(2)
            let failing =
                { new IParallelWork with
                    member _.Execute(index, _) = if index = 1 then invalidOp "part 1 failed" }
            Expect.throwsT<InvalidOperationException> (fun () -> pool.Run(failing, 2)) "rethrown"
            let job = Counting 2
            pool.Run(job, 2)
            Expect.sequenceEqual job.Runs [| 1; 1 |] "the next job ran"
        }
    ]
