module Nn.Tests.Runtime.Data.AtomicFileTests

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Runtime.Data

let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-atomic-" f

exception private WriterCrashed

[<Tests>]
let tests =
    testList "Runtime.Data.AtomicFile" [
        test "a write replaces the file and leaves nothing else behind" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "a.txt")
                AtomicFile.WriteAllText(p, "old")
                AtomicFile.WriteAllText(p, "new")
                Expect.equal (File.ReadAllText p) "new" "content"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "a.txt" |] "no temporary files")
        }
        test "a writer that throws midway leaves the old file intact" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "model.safetensors")
                File.WriteAllText(p, "the old complete checkpoint")
                Expect.throwsT<WriterCrashed> (fun () ->
                    AtomicFile.Write(p, fun s ->
                        s.Write(Array.create 100000 42uy, 0, 100000)
                        raise WriterCrashed)) "the writer's exception propagates unchanged"
                Expect.equal (File.ReadAllText p) "the old complete checkpoint" "old content"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "model.safetensors" |]
                    "temporary file removed")
        }
        test "a writer that throws leaves no file where there was none" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "new.bin")
                Expect.throwsT<WriterCrashed> (fun () -> AtomicFile.Write(p, fun _ -> raise WriterCrashed)) "propagates"
                Expect.isEmpty (Directory.GetFiles dir) "nothing written")
        }
        test "missing folders are created" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "runs", "mnist_mlp", "epoch1.safetensors")
                AtomicFile.WriteAllBytes(p, [| 1uy; 2uy |])
                Expect.equal (File.ReadAllBytes p) [| 1uy; 2uy |] "content")
        }
        test "a file that cannot be written is NN0706" {
            withTemp (fun dir ->
                let blocker = Path.Combine(dir, "runs")
                File.WriteAllText(blocker, "a file where a folder should be")
                let p = Path.Combine(blocker, "ck.safetensors")
                let e = Expect.throwsC (fun () -> AtomicFile.WriteAllText(p, "x")) id
                match e with
                | :? DataException as d ->
                    Expect.equal d.Code "NN0706" "code"
                    Expect.stringStarts d.Message "ck.safetensors: cannot write the file: " "message names the file"
                | other -> failtestf "expected a DataException, got %O" other)
        }
        test "RemoveStale deletes the temporary files of writers that are gone, and nothing else (#16.8)" {
            withTemp (fun dir ->
                let temp (pid: int) = sprintf ".checkpoint.safetensors.%d.%s.tmp" pid (Guid.NewGuid().ToString "N")
                let make name = File.WriteAllText(Path.Combine(dir, name), "half a checkpoint"); name
                let dead = make (temp 2147483646) // above any Linux pid_max: no such process
                let deadMetrics = make (sprintf ".metrics.csv.%d.%s.tmp" 2147483645 (Guid.NewGuid().ToString "N"))
                let own = make (temp Environment.ProcessId)
                use sleeper = Process.Start(ProcessStartInfo("sleep", "30", UseShellExecute = false))
                try
                    let live = make (temp sleeper.Id)
                    // the same id, but the file is older than the process: an earlier process that had that id wrote it
                    let reused = make (temp sleeper.Id)
                    File.SetLastWriteTimeUtc(Path.Combine(dir, reused), DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc))
                    let others = [ make "checkpoint.safetensors"; make "notes.tmp"; make ".x.12.nothex.tmp" ]
                    let removed = AtomicFile.RemoveStale dir |> List.ofSeq |> List.sort
                    Expect.equal removed (List.sort [ dead; deadMetrics; reused ]) "the stale ones"
                    let left = Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort |> List.ofArray
                    Expect.equal left (List.sort ([ own; live ] @ others)) "the others are kept"
                finally
                    sleeper.Kill()
                    sleeper.WaitForExit())
        }
        test "RemoveStale keeps a temporary file that is still open for writing (#16.8)" {
            withTemp (fun dir ->
                let name = sprintf ".checkpoint.safetensors.%d.%s.tmp" 2147483646 (Guid.NewGuid().ToString "N")
                let p = Path.Combine(dir, name)
                using (new FileStream(p, FileMode.CreateNew, FileAccess.Write, FileShare.None)) (fun _ ->
                    Expect.isEmpty (AtomicFile.RemoveStale dir) "nothing removed while locked"
                    Expect.isTrue (File.Exists p) "kept")
                Expect.equal (List.ofSeq (AtomicFile.RemoveStale dir)) [ name ] "removed once closed")
        }
        test "RemoveStale of a missing folder does nothing" {
            let missing = Path.Combine(Path.GetTempPath(), "nn-none-" + Guid.NewGuid().ToString "N")
            Expect.isEmpty (AtomicFile.RemoveStale missing) "nothing"
        }
    ]
