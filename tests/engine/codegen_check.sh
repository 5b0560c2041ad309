#!/usr/bin/env bash
# Checks that the speed techniques the phases depend on survived the compiler: counts the
# prefetch instructions and the vector (SIMD) instructions in each phase's object file and
# compares them with the floors in codegen_floors.txt. GCC has dropped prefetches silently
# before (a function made only of prefetches is deemed free of side effects), and a loop
# that stops vectorising keeps computing the same result, only slower: no other test notices.
#
#   codegen_check.sh OBJECT_DIR FLOORS      (OBJECT_DIR: talentsim_lib's objects, .../sim)
#
# A floor is about half of what GCC 12 -O2 emits for the object (the count doubles with the
# plain twin of every engine loop, so half keeps a margin for a compiler version's
# differences); a count below it means a technique is gone. Vector instructions: those on
# %xmm/%ymm registers, less scalar ones (…ss, …sd), moves, conversions and zeroing.
set -euo pipefail
objdir=${1:?object dir}; floors=${2:?floors file}
status=0
while read -r obj what floor _; do
  [[ -z $obj || $obj == \#* ]] && continue
  f="$objdir/$obj"
  [[ -f $f ]] || { echo "codegen_check: no object file $f"; status=1; continue; }
  asm=$(objdump -d --no-show-raw-insn "$f")
  case $what in
    prefetch) n=$(grep -cE '\sprefetch' <<<"$asm" || true) ;;
    simd) n=$(grep -E '%[xy]mm' <<<"$asm" | awk '{print $2}' |
              grep -cvE '(ss|sd|^mov.*|^cvt.*|^ucomi.*|^comi.*|^pxor|^xorp.)$' || true) ;;
    *) echo "codegen_check: unknown count '$what'"; status=1; continue ;;
  esac
  if (( n < floor )); then
    echo "codegen_check: $obj has $n $what instructions, fewer than its floor $floor"
    status=1
  else
    echo "codegen_check: $obj: $n $what (floor $floor)"
  fi
done <"$floors"
exit $status
