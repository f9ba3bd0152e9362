module Nn.Tests.Dsl.UnifiedDiffTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Dsl.Format

/// Apply a unified diff to `text` the way `patch` does, checking every context and removed line against it.
let private apply (diff: string) (text: string) =
    if diff = "" then text
    else
        let old = text.Split '\n' |> Array.toList
        let lines = diff.TrimEnd('\n').Split '\n' |> Array.toList
        let header = Text.RegularExpressions.Regex(@"^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$")
        let out = ResizeArray<string>()
        let mutable pos = 0 // lines of `old` already copied or consumed
        let take (expected: string) =
            Expect.equal old[pos] expected (sprintf "line %d of the old text" (pos + 1))
            pos <- pos + 1
        for l in lines |> List.skip 2 do
            let m = header.Match l
            if m.Success then
                let start, count = int m.Groups[1].Value, int m.Groups[2].Value
                let first = if count = 0 then start else start - 1
                while pos < first do
                    out.Add old[pos]
                    pos <- pos + 1
            elif l.StartsWith " " then take (l.Substring 1); out.Add(l.Substring 1)
            elif l.StartsWith "-" then take (l.Substring 1)
            elif l.StartsWith "+" then out.Add(l.Substring 1)
            else failtestf "unexpected diff line `%s`" l
        while pos < old.Length do
            out.Add old[pos]
            pos <- pos + 1
        String.Join("\n", out)

/// The length of a longest common subsequence (dynamic programming), so the fewest lines a diff can change.
let private lcs (a: string[]) (b: string[]) =
    let t = Array2D.zeroCreate (a.Length + 1) (b.Length + 1)
    for i in 1 .. a.Length do
        for j in 1 .. b.Length do
            t[i, j] <- if a[i - 1] = b[j - 1] then t[i - 1, j - 1] + 1 else max t[i - 1, j] t[i, j - 1]
    t[a.Length, b.Length]

let private textOf (lines: string list) = String.concat "" (lines |> List.map (fun l -> l + "\n"))

[<Tests>]
let tests =
    testList "Dsl.Format.UnifiedDiff" [
        test "equal texts give no diff" {
            Expect.equal (UnifiedDiff.diff "a" "b" "x\ny\n" "x\ny\n") "" "empty"
        }
        test "hunks have three lines of context and GNU's header numbers" {
            let a = textOf [ for i in 1 .. 20 -> sprintf "l%d" i ]
            let b = a.Replace("l2\n", "L2\n").Replace("l18\n", "").Replace("l20\n", "l20\nl21\n")
            let expected =
                String.concat "\n" [
                    "--- f.nn"; "+++ f.nn"
                    "@@ -1,5 +1,5 @@"; " l1"; "-l2"; "+L2"; " l3"; " l4"; " l5"
                    "@@ -15,6 +15,6 @@"; " l15"; " l16"; " l17"; "-l18"; " l19"; " l20"; "+l21"
                    "" ]
            Expect.equal (UnifiedDiff.diff "f.nn" "f.nn" a b) expected "diff -u's output"
        }
        test "a change at either end of a text, and into or out of an empty one" {
            Expect.equal (UnifiedDiff.diff "f" "f" "" "a\n") "--- f\n+++ f\n@@ -0,0 +1,1 @@\n+a\n" "from empty"
            Expect.equal (UnifiedDiff.diff "f" "f" "a\n" "") "--- f\n+++ f\n@@ -1,1 +0,0 @@\n-a\n" "to empty"
        }
        test "a missing final newline is shown as diff shows it" {
            let expected = "--- f\n+++ f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
            Expect.equal (UnifiedDiff.diff "f" "f" "a\nb" "a\nb\n") expected "marker"
        }
        testProperty "the diff applies to the old text giving the new one, changing the fewest lines"
        <| fun (a: bool list) (b: bool list) (c: int) ->
            // Lines from a small alphabet, so the texts share many lines in many ways.
            let lines (bs: bool list) = bs |> List.mapi (fun i x -> if x then "x" else sprintf "y%d" ((i + c) % 3))
            let la, lb = lines a, lines b
            let d = UnifiedDiff.diff "f" "f" (textOf la) (textOf lb)
            Expect.equal (apply d (textOf la)) (textOf lb) "patched"
            let body = if d = "" then [||] else d.Split '\n' |> Array.skip 2
            let changed = body |> Array.filter (fun l -> l.StartsWith "+" || l.StartsWith "-") |> Array.length
            let fewest = la.Length + lb.Length - 2 * lcs (Array.ofList la) (Array.ofList lb)
            Expect.equal changed fewest "a shortest edit script"
    ]
