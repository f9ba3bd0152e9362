/// The in-process communicator: N ranks as N threads. Sums are the same whatever the threads' timing (rank order),
/// messages are matched by source and tag in order, and an abort wakes every waiting rank.
module Nn.Tests.Runtime.Distributed.LocalCommunicatorTests

open System
open System.Threading.Tasks
open Expecto
open Nn.Runtime.Distributed

/// Runs `f rank comm` on every rank at once; the results in rank order.
let onRanks (size: int) (f: int -> LocalCommunicator -> 'a) =
    let comms = LocalCommunicator.Create size
    comms |> Array.mapi (fun r c -> Task.Run(fun () -> f r c)) |> Array.map (fun t -> t.Result)

[<Tests>]
let tests =
    testList "Runtime.Distributed.LocalCommunicator" [
        test "allreduce sums every rank's values in place, on every rank" {
            let results =
                onRanks 3 (fun r c ->
                    let data = [| float32 r; 10f * float32 r; 1f |]
                    c.AllreduceSum(Span data)
                    let d = [| float r + 0.5 |]
                    c.AllreduceSum(Span d)
                    data, d[0])
            for data, d in results do
                Expect.equal data [| 3f; 30f; 3f |] "0+1+2, 0+10+20, 1+1+1"
                Expect.equal d 4.5 "0.5 + 1.5 + 2.5"
        }

        test "a float sum is added in rank order, so it does not depend on which thread arrives first" {
            // in float32 (1e8 + 1) rounds to 1e8, so rank order gives 0, while (1e8 - 1e8) + 1 would give 1
            let values = [| 1e8f; 1f; -1e8f |]
            for _ in 1..20 do
                let results = onRanks 3 (fun r c -> let d = [| values[r] |] in c.AllreduceSum(Span d); d[0])
                Expect.equal results [| 0f; 0f; 0f |] "((1e8 + 1) - 1e8) in float32"
        }

        test "broadcast copies the root's bytes to every rank" {
            let results =
                onRanks 3 (fun r c ->
                    let data = if r = 1 then [| 7uy; 8uy |] else [| 0uy; 0uy |]
                    c.Broadcast(Span data, 1)
                    data)
            for d in results do Expect.equal d [| 7uy; 8uy |] "rank 1's bytes"
        }

        test "messages arrive in order, matched by source and tag" {
            let results =
                onRanks 2 (fun r c ->
                    if r = 0 then
                        c.Send(ReadOnlySpan [| 1f; 2f |], 1, 5)
                        c.Send(ReadOnlySpan [| 3f |], 1, 6)
                        c.Send(ReadOnlySpan [| 4f; 5f |], 1, 5)
                        []
                    else
                        let a, b, d = Array.zeroCreate 1, Array.zeroCreate 2, Array.zeroCreate 2
                        c.Receive(Span a, 0, 6) // tag 6 first, though it was sent second
                        c.Receive(Span b, 0, 5)
                        c.Receive(Span d, 0, 5)
                        [ a; b; d ])
            Expect.equal results[1] [ [| 3f |]; [| 1f; 2f |]; [| 4f; 5f |] ] "by tag, then in order"
        }

        test "an abort wakes a rank waiting for a message that will never come" {
            let comms = LocalCommunicator.Create 2
            let waiting = Task.Run(fun () -> comms[1].Receive(Span(Array.zeroCreate<float32> 1), 0, 0))
            Threading.Thread.Sleep 50
            Expect.throwsT<CommunicatorAbortedException> (fun () -> comms[0].Abort 3) "Abort does not return"
            let woken =
                try
                    waiting.Wait 10000 |> ignore
                    None
                with :? AggregateException as e -> Some e.InnerException
            Expect.isTrue (woken |> Option.exists (fun e -> e :? CommunicatorAbortedException)) "woken by the abort"
            Expect.throwsT<CommunicatorAbortedException> (fun () -> comms[1].Barrier()) "every later call fails"
        }

        test "a job needs at least one rank" {
            Expect.throwsT<ArgumentOutOfRangeException> (fun () -> LocalCommunicator.Create 0 |> ignore) "0 ranks"
        }
    ]
