module example.com/registry

go 1.26.0

require @MODULE@ v@VERSION@
