// Every arch wrapper: the whole instruction layer of the portable device subset (README.md table).
#pragma once
#include "atomic.h"
#include "cp_async.h"
#include "cvt.h"
#include "ldmatrix.h"
#include "memory.h"
#include "mma_fp.h"
#include "mma_fp4.h"
#include "mma_int.h"
#include "sfu.h"
#include "warp.h"
