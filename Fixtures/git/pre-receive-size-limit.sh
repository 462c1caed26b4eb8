#!/bin/sh
# A pre-receive hook that refuses any pushed blob larger than `git config hooks.maxblobbytes` (default
# 100 MiB), with messages like GitHub's own (GH001), which the pushing client sees as `remote:` lines.
limit=$(git config --int hooks.maxblobbytes || echo 104857600)
zero=0000000000000000000000000000000000000000
status=0
while read old new ref; do
    [ "$new" = "$zero" ] && continue
    if ! git rev-list --objects "$new" --not --all \
        | git cat-file --batch-check='%(objecttype) %(objectsize) %(rest)' \
        | awk -v limit="$limit" '$1 == "blob" && $2 > limit {
              print "error: File " $3 " is " $2 " bytes; this exceeds the file size limit of " limit " bytes"; bad = 1
          } END { exit bad }'; then
        echo "error: GH001: Large files detected. You may want to try Git Large File Storage - https://git-lfs.github.com."
        echo "error: refusing $ref"
        status=1
    fi
done
exit $status
