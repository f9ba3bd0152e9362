/// A unified diff of two texts (`nn fmt --diff`), as `diff -u` and `git diff` print it: `---`/`+++` headers,
/// `@@ -a,b +c,d @@` hunks with three lines of context. Lines are found by Myers' O((N+M)·D) algorithm.
module internal Nn.Dsl.Format.UnifiedDiff

open System
open System.Text

type private Edit =
    | Keep of oldIndex: int * newIndex: int
    | Delete of oldIndex: int
    | Insert of newIndex: int

/// The lines of a text, each with its line break, so that a missing final newline is a difference too.
let private lines (text: string) =
    let result = ResizeArray<string>()
    let mutable start = 0
    for i in 0 .. text.Length - 1 do
        if text[i] = '\n' then
            result.Add(text.Substring(start, i - start + 1))
            start <- i + 1
    if start < text.Length then result.Add(text.Substring start)
    result.ToArray()

/// The shortest edit script from `a` to `b` (Myers 1986): the furthest-reaching path on each diagonal
/// for each number of edits, then a walk back through the saved frontiers.
let private editScript (a: string[]) (b: string[]) : Edit list =
    let n, m = a.Length, b.Length
    let offset = n + m + 1
    let v = Array.zeroCreate<int> (2 * offset + 1)
    let trace = ResizeArray<int[]>()
    let mutable found = false
    let mutable d = 0
    while not found do
        // The diagonals -d..d of the frontier so far (memory D² in all, not D·(N+M)).
        trace.Add(Array.sub v (offset - d) (2 * d + 1))
        let mutable k = -d
        while not found && k <= d do
            let mutable x =
                if k = -d || (k <> d && v[offset + k - 1] < v[offset + k + 1]) then v[offset + k + 1]
                else v[offset + k - 1] + 1
            let mutable y = x - k
            while x < n && y < m && a[x] = b[y] do
                x <- x + 1
                y <- y + 1
            v[offset + k] <- x
            if x >= n && y >= m then found <- true
            k <- k + 2
        if not found then d <- d + 1
    // Walk back from (n, m): trace[step] holds the frontier before that step, diagonal k at k + step.
    let mutable edits = []
    let mutable x, y = n, m
    for step in d .. -1 .. 0 do
        let at k = trace[step][k + step]
        let k = x - y
        let prevK =
            if step = 0 then 0
            elif k = -step || (k <> step && at (k - 1) < at (k + 1)) then k + 1
            else k - 1
        let prevX = if step = 0 then 0 else at prevK
        let prevY = prevX - prevK
        while x > prevX && y > prevY do
            x <- x - 1
            y <- y - 1
            edits <- Keep(x, y) :: edits
        if step > 0 then
            if x = prevX then edits <- Insert prevY :: edits else edits <- Delete prevX :: edits
            x <- prevX
            y <- prevY
    edits

/// The unified diff from `oldText` to `newText`, headed by the two names; empty when the texts are equal.
let diff (oldName: string) (newName: string) (oldText: string) (newText: string) : string =
    if oldText = newText then ""
    else
        let a, b = lines oldText, lines newText
        let edits = editScript a b |> Array.ofList
        let context = 3
        let sb = StringBuilder()
        sb.Append("--- ").Append(oldName).Append('\n').Append("+++ ").Append(newName).Append('\n') |> ignore
        let line (prefix: char) (s: string) =
            sb.Append(prefix).Append(s) |> ignore
            if not (s.EndsWith "\n") then sb.Append("\n\\ No newline at end of file\n") |> ignore
        let changes = [ for i in 0 .. edits.Length - 1 do match edits[i] with Keep _ -> () | _ -> yield i ]
        // Hunks: runs of changes, one hunk while at most 2·context unchanged lines separate them.
        let hunks =
            changes.Tail
            |> List.fold (fun groups c ->
                match groups with
                | (first, last) :: rest when c - last - 1 <= 2 * context -> (first, c) :: rest
                | _ -> (c, c) :: groups) [ (changes.Head, changes.Head) ]
            |> List.rev
        let oldLines = function Insert _ -> 0 | _ -> 1
        let newLines = function Delete _ -> 0 | _ -> 1
        for (firstChange, lastChange) in hunks do
            let first, stop = max 0 (firstChange - context), min (edits.Length - 1) (lastChange + context)
            let hunk = edits[first..stop]
            let oldCount, newCount = Array.sumBy oldLines hunk, Array.sumBy newLines hunk
            // The first line of each side (GNU's convention: the line before, when the side has none).
            let start before count = if count = 0 then before else before + 1
            let oldStart = start (Array.sumBy oldLines edits[.. first - 1]) oldCount
            let newStart = start (Array.sumBy newLines edits[.. first - 1]) newCount
            sb.AppendFormat("@@ -{0},{1} +{2},{3} @@\n", oldStart, oldCount, newStart, newCount) |> ignore
            for e in hunk do
                match e with
                | Keep(x, _) -> line ' ' a[x]
                | Delete x -> line '-' a[x]
                | Insert y -> line '+' b[y]
        sb.ToString()
