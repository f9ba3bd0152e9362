/// Engine.StepThreads: a bound program's choice between one thread and two, by timing both. The choices are checked
/// on times given by hand (a probe times two threads then one, keeps the faster by the median, holds it 64 steps,
/// four times longer once confirmed); an executor that switches between the sides gives the bits of one thread
/// (ThreadsStepTests).
module Nn.Tests.Runtime.Engine.StepThreadsTests

open System
open Expecto
open Nn.Runtime.Engine
open Nn.Runtime.Kernels

/// Feeds a probe: the one-thread steps take `solo` seconds each, the two-thread steps `split` (in turn); each side's
/// untimed first step takes 1,000 s (a worker woken from sleep), which must not count.
let private probe (c: StepThreads) (solo: float list) (split: float list) =
    let solo, split = Collections.Generic.Queue solo, Collections.Generic.Queue split
    let sides = ResizeArray()
    for _ in 1 .. StepThreads.ProbeLength do
        sides.Add((c.NextSolo, c.NextUntimed))
        c.Record(if c.NextUntimed then 1000.0 elif c.NextSolo then solo.Dequeue() else split.Dequeue())
    List.ofSeq sides

/// Runs `steps` held steps (each 1 ms) and returns how many ran on one thread.
let private hold (c: StepThreads) (steps: int) =
    let mutable solo = 0
    for _ in 1 .. steps do
        if c.NextSolo then solo <- solo + 1
        c.Record 1e-3
    solo

/// A chooser past its first steps, which run on the threads without a probe.
let private chooser () =
    let c = StepThreads()
    hold c StepThreads.FirstHold |> ignore
    c

[<Tests>]
let tests =
    testList "Runtime.Engine.StepThreads" [
        test "the first 64 steps run on the threads, untimed; then a probe" {
            let c = StepThreads()
            Expect.equal (hold c StepThreads.FirstHold) 0 "64 steps on the threads"
            Expect.equal c.Probes 0 "no probe yet"
            Expect.isTrue c.NextUntimed "then a probe"
        }

        test "a probe times two threads, then one: four steps each after an untimed one" {
            let c = chooser ()
            let sides = probe c [ 1.0; 1.0; 1.0; 1.0 ] [ 2.0; 2.0; 2.0; 2.0 ]
            let block solo = (solo, true) :: List.replicate 4 (solo, false)
            Expect.sequenceEqual sides (block false @ block true) "sides (one thread?, untimed?)"
            Expect.equal c.Probes 1 "one probe"
            Expect.equal c.SoloChoices 1 "one thread chosen: the untimed steps did not count"
        }

        test "the untimed steps do not decide: slow first split steps (a worker waking) leave two threads chosen" {
            let c = chooser ()
            probe c [ 2.0; 2.0; 2.0; 2.0 ] [ 1.0; 1.0; 1.0; 1.0 ] |> ignore
            Expect.equal c.SoloChoices 0 "two threads chosen"
        }

        test "one thread faster: held 64 steps, probed again; confirmed: held 256; changed: held 64" {
            let c = chooser ()
            probe c [ 1.0; 1.0; 1.0; 1.0 ] [ 2.0; 2.0; 2.0; 2.0 ] |> ignore
            Expect.equal (hold c 64) 64 "64 steps on one thread"
            Expect.isFalse c.NextSolo "the next probe starts on two threads"
            probe c [ 1.0; 1.0; 1.0; 1.0 ] [ 2.0; 2.0; 2.0; 2.0 ] |> ignore
            Expect.equal (hold c 256) 256 "confirmed: 256 steps on one thread"
            probe c [ 3.0; 3.0; 3.0; 3.0 ] [ 2.0; 2.0; 2.0; 2.0 ] |> ignore
            Expect.equal (hold c 64) 0 "two threads faster now: 64 steps on two"
            Expect.equal c.SoloChoices 2 "two probes chose one thread"
            Expect.equal c.Probes 3 "three probes"
        }

        test "two threads faster: every held step splits, the hold grows to 1,024 steps" {
            let c = chooser ()
            for h in [ 64; 256; 1024 ] do
                probe c [ 2.0; 2.0; 2.0; 2.0 ] [ 1.0; 1.0; 1.0; 1.0 ] |> ignore
                Expect.equal (hold c h) 0 (sprintf "hold of %d steps on two threads" h)
            Expect.isTrue c.NextUntimed "then a probe"
            Expect.equal c.SoloChoices 0 "no probe chose one thread"
        }

        test "the median, not the mean: one slow one-thread step (a neighbour's burst) does not decide" {
            let c = chooser ()
            // means: one thread 25.75, two 2; medians: 1 against 2
            probe c [ 1.0; 100.0; 1.0; 1.0 ] [ 2.0; 2.0; 2.0; 2.0 ] |> ignore
            Expect.equal c.SoloChoices 1 "one thread chosen"
        }

        test "WorkerPool.Solo runs a job as one part on the calling thread" {
            let pool = WorkerPool 2
            let seen = Collections.Concurrent.ConcurrentBag<int * int * int>()
            let job =
                { new IParallelWork with
                    member _.Execute(index, count) = seen.Add((index, count, Environment.CurrentManagedThreadId)) }
            WorkerPool.Solo <- true
            try pool.Run(job, 2) finally WorkerPool.Solo <- false
            Expect.sequenceEqual (List.ofSeq seen) [ (0, 1, Environment.CurrentManagedThreadId) ] "one part, here"
            seen.Clear()
            pool.Run(job, 2)
            Expect.equal seen.Count 2 "two parts once Solo is off"
        }
    ]
