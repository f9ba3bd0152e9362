module Nn.Tests.Dsl.SourceFileTests

open System.IO
open Expecto
open Nn.Dsl

let private withTemp (bytes: byte[]) (f: string -> unit) =
    let path = Path.Combine(Path.GetTempPath(), sprintf "nn-test-%s.nn" (System.Guid.NewGuid().ToString("N")))
    File.WriteAllBytes(path, bytes)
    try f path finally File.Delete path

let private rendered (r: Result<string, Diagnostic>) =
    match r with
    | Result.Error d -> Diagnostic.render (fun _ -> None) d
    | Result.Ok _ -> failtest "expected an error"

[<Tests>]
let tests =
    testList "Dsl.SourceFile" [
        test "a missing file is NN0001" {
            Expect.equal (rendered (SourceFile.read "no/such.nn")) "no/such.nn: error NN0001: cannot read \
                                                                    `no/such.nn`: no such file" "render"
        }
        test "a directory is NN0001" {
            let dir = Path.GetTempPath()
            Expect.equal (rendered (SourceFile.read dir)) (sprintf "%s: error NN0001: cannot read `%s`: it is a \
                                                                    directory" dir dir) "render"
        }
        test "NUL bytes are NN0002" {
            withTemp [| 0x6cuy; 0uy; 0x65uy |] (fun p ->
                Expect.equal (rendered (SourceFile.read p)) (sprintf "%s: error NN0002: `%s` is not a text file (it \
                                                                      contains NUL bytes)" p p) "render")
        }
        test "invalid UTF-8 is NN0002" {
            withTemp [| 0x6cuy; 0xffuy; 0xfeuy |] (fun p ->
                Expect.equal (rendered (SourceFile.read p)) (sprintf "%s: error NN0002: `%s` is not a text file (it is \
                                                                      not valid UTF-8)" p p) "render")
        }
        test "an empty file is NN0003" {
            withTemp [||] (fun p ->
                Expect.equal (rendered (SourceFile.read p)) (sprintf "%s: error NN0003: the file is empty: a program \
                                                                      needs at least one declaration" p) "render")
        }
        test "a UTF-8 file with a byte-order mark reads without it" {
            let bytes = Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (System.Text.Encoding.UTF8.GetBytes "let x = 1")
            withTemp bytes (fun p ->
                Expect.equal (SourceFile.read p) (Result.Ok "let x = 1") "text")
        }
    ]
