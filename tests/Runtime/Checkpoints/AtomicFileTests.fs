module Nn.Tests.Runtime.Checkpoints.AtomicFileTests

open System
open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints

let private withTemp f =
    let dir = Path.Combine(Path.GetTempPath(), "nn-atomic-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    try f dir finally Directory.Delete(dir, true)

exception private WriterCrashed

[<Tests>]
let tests =
    testList "Runtime.Checkpoints.AtomicFile" [
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
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "model.safetensors" |] "temporary file removed")
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
    ]
