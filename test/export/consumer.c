/* A C program using an svdq build the way an integrator would: it reads a layer from a checkpoint made
 * by `svdq-codegen pack` (a minimal safetensors reader below), uploads it, creates a layer through
 * svdq.h and runs it. Built against dist/include and dist/emu/libsvdq_emu.so by the export tests.
 *   consumer run    CKPT PREFIX X.bin M Y.bin
 *   consumer append CKPT PREFIX ADAPTER X.bin M Y.bin SCALE   (appends ADAPTER.lora_down/up, then rescales)
 *   consumer misuse CKPT PREFIX                                (bad calls: errors, nothing launched)
 * The format follows the packed tensors: F16/BF16 wscales = INT4; U8 wscales = NVFP4 (group 16, with its
 * F32 wtensor_scale) or MXFP4 (group 32).
 *
 *   consumer fuzz CKPT PREFIX < calls                          (one ABI call per line: OP A B)
 *   consumer sizes CKPT PREFIX                                 (every size argument at 0, -1, INT_MAX, SIZE_MAX)
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svdq.h"

typedef struct {
  char dtype[16];
  long shape[4];
  int ndim;
  void* device;
  size_t bytes;
} tensor_t;

static char* g_header;
static FILE* g_file;
static long g_data_start;

static void die(const char* what) {
  fprintf(stderr, "consumer: %s (last error: %s)\n", what, svdq_last_error());
  exit(1);
}

static void open_checkpoint(const char* path) {
  uint64_t n = 0;
  g_file = fopen(path, "rb");
  if (!g_file || fread(&n, 8, 1, g_file) != 1) die("cannot read checkpoint");
  g_header = calloc(n + 1, 1);
  if (fread(g_header, 1, n, g_file) != n) die("truncated header");
  g_data_start = 8 + (long)n;
}

/* Finds "name":{"dtype":..,"shape":[..],"data_offsets":[a,b]} and uploads the bytes; 0 when absent. */
static int load(const char* name, tensor_t* t) {
  char key[512];
  snprintf(key, sizeof key, "\"%s\":{", name);
  const char* p = strstr(g_header, key);
  if (!p) return 0;
  const char* d = strstr(p, "\"dtype\":\"");
  const char* s = strstr(p, "\"shape\":[");
  const char* o = strstr(p, "\"data_offsets\":[");
  if (!d || !s || !o) die("malformed header entry");
  sscanf(d + 9, "%15[^\"]", t->dtype);
  t->ndim = 0;
  for (const char* q = s + 9; *q != ']' && t->ndim < 4;) {
    t->shape[t->ndim++] = strtol(q, (char**)&q, 10);
    if (*q == ',') q++;
  }
  long begin = 0, end = 0;
  sscanf(o + 16, "%ld,%ld", &begin, &end);
  t->bytes = (size_t)(end - begin);
  void* host = malloc(t->bytes ? t->bytes : 1);
  fseek(g_file, g_data_start + begin, SEEK_SET);
  if (fread(host, 1, t->bytes, g_file) != t->bytes) die("truncated tensor");
  if (svdq_device_alloc(t->bytes, &t->device) != SVDQ_OK) die("svdq_device_alloc");
  if (svdq_copy_to_device(t->device, host, t->bytes) != SVDQ_OK) die("svdq_copy_to_device");
  free(host);
  return 1;
}

static void* read_file(const char* path, size_t* bytes) {
  FILE* f = fopen(path, "rb");
  if (!f) die("cannot open input");
  fseek(f, 0, SEEK_END);
  *bytes = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void* p = malloc(*bytes);
  if (fread(p, 1, *bytes, f) != *bytes) die("short read");
  fclose(f);
  return p;
}

static svdq_layer_desc_t g_desc;
static tensor_t wq, wscales, bias, smooth, down, up;

/* The layer description from the packed tensors' shapes and dtypes (docs/export.md). */
static void describe(const char* prefix) {
  char name[512];
  memset(&g_desc, 0, sizeof g_desc);
#define LOAD(t, suffix) (snprintf(name, sizeof name, "%s.%s", prefix, suffix), load(name, &t))
  if (!LOAD(wq, "wq") || !LOAD(wscales, "wscales")) die("layer not in checkpoint");
  g_desc.N = (int)wq.shape[0];
  g_desc.K = (int)wq.shape[1] * 2;
  g_desc.group = g_desc.K / (int)wscales.shape[1];
  int int4 = strcmp(wscales.dtype, "U8") != 0;
  g_desc.format = int4 ? SVDQ_FORMAT_INT4 : (g_desc.group == 16 ? SVDQ_FORMAT_NVFP4 : SVDQ_FORMAT_MXFP4);
  g_desc.scale_dtype = strcmp(wscales.dtype, "F16") == 0 ? SVDQ_DTYPE_FP16 : SVDQ_DTYPE_BF16;
  g_desc.dtype = g_desc.scale_dtype;
  g_desc.wq = wq.device;
  g_desc.wscales = wscales.device;
  g_desc.wtensor_scale = 1.0f;
  /* NVFP4: the per-tensor weight scale is an fp32 scalar the ABI takes by value (host) */
  snprintf(name, sizeof name, "%s.wtensor_scale", prefix);
  tensor_t ts;
  if (load(name, &ts)) {
    if (strcmp(ts.dtype, "F32") != 0 || ts.bytes != 4) die("wtensor_scale must be an F32 scalar");
    svdq_copy_to_host(&g_desc.wtensor_scale, ts.device, 4);
    svdq_device_free(ts.device);
  }
  if (LOAD(bias, "bias")) {
    g_desc.bias = bias.device;
    g_desc.epilogue |= SVDQ_EPILOGUE_BIAS;
    g_desc.dtype = strcmp(bias.dtype, "F16") == 0 ? SVDQ_DTYPE_FP16 : SVDQ_DTYPE_BF16;
  }
  if (LOAD(smooth, "smooth")) g_desc.smooth = smooth.device;
  if (LOAD(down, "lora_down") && LOAD(up, "lora_up")) {
    g_desc.rank = (int)down.shape[0];
    g_desc.lora_down = down.device;
    g_desc.lora_up = up.device;
    g_desc.epilogue |= SVDQ_EPILOGUE_LOWRANK;
    snprintf(name, sizeof name, "%s.lora_scales", prefix);
    const char* p = strstr(g_header, name);
    if (p) { /* lora_scales is host memory in the ABI: read it back */
      static float host_scales[64];
      tensor_t t;
      load(name, &t);
      svdq_copy_to_host(host_scales, t.device, t.bytes);
      g_desc.lora_scales = host_scales;
    }
  }
#undef LOAD
}

static void run_layer(svdq_layer_t* layer, const char* x_path, int M, const char* y_path) {
  size_t x_bytes = 0, ws_bytes = 0;
  void* x_host = read_file(x_path, &x_bytes);
  void *x = NULL, *y = NULL, *ws = NULL;
  size_t y_bytes = (size_t)M * g_desc.N * 2;
  if (svdq_layer_workspace_size(layer, M, &ws_bytes) != SVDQ_OK) die("workspace_size");
  if (svdq_device_alloc(x_bytes, &x) || svdq_device_alloc(y_bytes, &y) || svdq_device_alloc(ws_bytes, &ws)) die("alloc");
  svdq_copy_to_device(x, x_host, x_bytes);
  if (svdq_layer_run(layer, M, x, y, ws, ws_bytes, NULL) != SVDQ_OK) die("svdq_layer_run");
  if (svdq_synchronize() != SVDQ_OK) die("svdq_synchronize");
  void* y_host = malloc(y_bytes);
  svdq_copy_to_host(y_host, y, y_bytes);
  FILE* f = fopen(y_path, "wb");
  fwrite(y_host, 1, y_bytes, f);
  fclose(f);
  svdq_device_free(x);
  svdq_device_free(y);
  svdq_device_free(ws);
  free(x_host);
  free(y_host);
}

static int g_checks = 0;
#define EXPECT(call, status)                                                                          \
  do {                                                                                                \
    svdq_status_t s_ = (call);                                                                        \
    if (s_ != (status) || (s_ != SVDQ_OK && svdq_last_error()[0] == 0)) {                             \
      fprintf(stderr, "consumer: %s returned %d (expected %d): %s\n", #call, s_, status, svdq_last_error()); \
      exit(1);                                                                                        \
    }                                                                                                 \
    printf("ok %d %s -> %d: %s\n", ++g_checks, #call, s_, svdq_last_error());                         \
  } while (0)

static void misuse(void) {
  svdq_layer_t* layer = NULL;
  svdq_layer_desc_t d = g_desc;
  if (svdq_max_rank(&g_desc) != 32) die("svdq_max_rank should report the compiled rank 32");
  if (!strstr(svdq_build_info(), "\"flavour\":\"emu\"")) die("svdq_build_info should name the emulator flavour");
  if (svdq_max_rank(NULL) != 0 || svdq_last_error()[0] == 0) die("svdq_max_rank(NULL) should fail with a message");
  EXPECT(svdq_layer_create(NULL, &layer), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_create(&d, NULL), SVDQ_ERR_INVALID_ARG);
  d.N = g_desc.N + 8; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  d.K = g_desc.K + 32; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  d.wq = (const char*)g_desc.wq + 8; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  d.wscales = NULL; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  d.rank = 2048; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_UNSUPPORTED); d = g_desc;
  d.rank = 24; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  d.group = 32; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_UNSUPPORTED); d = g_desc;
  d.epilogue |= SVDQ_EPILOGUE_SILU | SVDQ_EPILOGUE_GELU; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG); d = g_desc;
  if (layer != NULL) die("a failed create left a layer");
  EXPECT(svdq_layer_create(&d, &layer), SVDQ_OK);

  const int M = 20;
  size_t ws_bytes = 0;
  EXPECT(svdq_layer_workspace_size(layer, 0, &ws_bytes), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_workspace_size(layer, M, &ws_bytes), SVDQ_OK);
  void *x = NULL, *y = NULL, *ws = NULL;
  size_t y_bytes = (size_t)M * g_desc.N * 2;
  svdq_device_alloc((size_t)M * g_desc.K * 2 + 16, &x);
  svdq_device_alloc(y_bytes + 16, &y);
  svdq_device_alloc(ws_bytes + 16, &ws);
  /* fill y with a sentinel: a bad call must leave it as it was */
  unsigned char* sentinel = malloc(y_bytes + 16);
  memset(sentinel, 0x5a, y_bytes + 16);
  svdq_copy_to_device(y, sentinel, y_bytes + 16);
  EXPECT(svdq_layer_run(NULL, M, x, y, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, 0, x, y, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, NULL, y, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, x, NULL, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, (const char*)x + 1, y, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, x, (char*)y + 8, ws, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, x, y, (char*)ws + 4, ws_bytes, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_run(layer, M, x, y, ws, ws_bytes - 1, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_append_lora(layer, 1024, g_desc.lora_down, g_desc.lora_up, NULL), SVDQ_ERR_UNSUPPORTED);
  EXPECT(svdq_layer_append_lora(layer, 8, g_desc.lora_down, g_desc.lora_up, NULL), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_append_lora(layer, 16, NULL, g_desc.lora_up, NULL), SVDQ_ERR_INVALID_ARG);
  float s = 1.0f;
  EXPECT(svdq_layer_set_lora_scales(layer, g_desc.rank / 16, 1, &s), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_set_lora_scales(layer, 0, 1, NULL), SVDQ_ERR_INVALID_ARG);
  unsigned char* after = malloc(y_bytes + 16);
  svdq_copy_to_host(after, y, y_bytes + 16);
  if (memcmp(after, sentinel, y_bytes + 16) != 0) die("a rejected call wrote to y");
  if (svdq_layer_rank(layer) != g_desc.rank) die("a rejected append changed the rank");
  svdq_layer_destroy(layer);
  svdq_layer_destroy(NULL);
  printf("misuse: %d checks passed\n", g_checks);
}

/* Every size argument of the ABI at 0, -1, INT_MAX, INT_MIN and SIZE_MAX (issue 15): an error with a
 * message, never a crash, a hang or a launch. */
static void sizes(void) {
  svdq_layer_t* layer = NULL;
  svdq_layer_desc_t d;
  const int ints[] = {0, -1, INT_MAX, INT_MIN, INT_MAX - 15, -16};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i) {
    const int v = ints[i];
    d = g_desc; d.N = v; if (svdq_layer_create(&d, &layer) == SVDQ_OK || !svdq_last_error()[0]) die("create accepted N");
    d = g_desc; d.K = v; if (svdq_layer_create(&d, &layer) == SVDQ_OK || !svdq_last_error()[0]) die("create accepted K");
    d = g_desc; d.group = v; if (svdq_layer_create(&d, &layer) == SVDQ_OK || !svdq_last_error()[0]) die("create accepted group");
    d = g_desc; d.rank = v; if (v != 0 && (svdq_layer_create(&d, &layer) == SVDQ_OK || !svdq_last_error()[0])) die("create accepted rank");
    d = g_desc; d.act_unsigned = v; if (v != 0 && (svdq_layer_create(&d, &layer) == SVDQ_OK || !svdq_last_error()[0])) die("create accepted act_unsigned");
    printf("create size %d: refused\n", v);
  }
  d = g_desc; d.act_unsigned = 7; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG);
  d = g_desc; d.N = 1 << 20; d.K = 1 << 12; EXPECT(svdq_layer_create(&d, &layer), SVDQ_ERR_INVALID_ARG);
  if (layer != NULL) die("a failed create left a layer");
  EXPECT(svdq_layer_create(&g_desc, &layer), SVDQ_OK);
  size_t ws = 0;
  EXPECT(svdq_layer_workspace_size(layer, -1, &ws), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_workspace_size(layer, INT_MIN, &ws), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_workspace_size(layer, INT_MAX, &ws), SVDQ_ERR_INVALID_ARG);
  void *x = NULL, *y = NULL, *w = NULL;
  EXPECT(svdq_device_alloc(4096, &x), SVDQ_OK);
  EXPECT(svdq_device_alloc(4096, &y), SVDQ_OK);
  EXPECT(svdq_device_alloc(4096, &w), SVDQ_OK);
  /* workspace_bytes = SIZE_MAX passes the workspace check: the row-count and grid checks must still refuse */
  const int ms[] = {0, -1, INT_MIN, INT_MAX, 2147483547, 65535 * 128 + 1};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
    EXPECT(svdq_layer_run(layer, ms[i], x, y, w, SIZE_MAX, NULL), SVDQ_ERR_INVALID_ARG);
  float scale[4] = {1, 1, 1, 1};
  const int ranks[] = {0, -1, INT_MIN, INT_MAX, INT_MAX - 15, 2147483632};
  for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; ++i) {
    svdq_status_t s = svdq_layer_append_lora(layer, ranks[i], g_desc.lora_down, g_desc.lora_up, scale); /* 4 floats only */
    if (s == SVDQ_OK || !svdq_last_error()[0]) die("append_lora accepted a rank");
    printf("append_lora rank %d -> %d: %s\n", ranks[i], s, svdq_last_error());
  }
  const int fc[][2] = {{0, 0}, {-1, 1}, {0, -1}, {INT_MAX, 1}, {1, INT_MAX}, {INT_MAX, INT_MAX}, {INT_MIN, INT_MAX}, {1, 2}};
  for (size_t i = 0; i < sizeof fc / sizeof fc[0]; ++i)
    EXPECT(svdq_layer_set_lora_scales(layer, fc[i][0], fc[i][1], scale), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_layer_set_lora_scales(layer, 1, 1, scale), SVDQ_OK);
  void* p = NULL;
  EXPECT(svdq_device_alloc(0, &p), SVDQ_ERR_INVALID_ARG);
  EXPECT(svdq_device_alloc(SIZE_MAX, &p), SVDQ_ERR_OUT_OF_MEMORY);
  EXPECT(svdq_device_alloc(SIZE_MAX / 2, &p), SVDQ_ERR_OUT_OF_MEMORY);
  if (p != NULL) die("a failed alloc returned a pointer");
  unsigned char host[64] = {0};
  const size_t bytes[] = {SIZE_MAX, SIZE_MAX - 8, (size_t)INT_MAX, 4097};
  for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; ++i) {
    EXPECT(svdq_copy_to_device(x, host, bytes[i]), SVDQ_ERR_LAUNCH);
    EXPECT(svdq_copy_to_host(host, x, bytes[i]), SVDQ_ERR_LAUNCH);
  }
  EXPECT(svdq_copy_to_device(x, host, 0), SVDQ_OK);
  EXPECT(svdq_copy_to_device((char*)x + 4090, host, 8), SVDQ_ERR_LAUNCH);
  svdq_device_free(x);
  svdq_device_free(y);
  svdq_device_free(w);
  svdq_layer_destroy(layer);
  printf("sizes: %d checks passed\n", g_checks);
}

/* Fuzz mode: one call per stdin line "OP A B" (decimal; A, B as 64-bit, truncated to the argument's
 * type like a C caller would), one status per stdout line. Layer-creating calls destroy what they made. */
static void fuzz(void) {
  svdq_layer_t* layer = NULL;
  if (svdq_layer_create(&g_desc, &layer) != SVDQ_OK) die("fuzz: the base layer does not create");
  void* buf = NULL;
  if (svdq_device_alloc(4096, &buf) != SVDQ_OK) die("fuzz: alloc");
  unsigned char host[4096];
  memset(host, 0, sizeof host);
  if (svdq_copy_to_device(buf, host, sizeof host) != SVDQ_OK) die("fuzz: copy");
  char op[32];
  long long a, b;
  while (scanf("%31s %lld %lld", op, &a, &b) == 3) {
    svdq_status_t s = SVDQ_ERR_INTERNAL;
    char msg[512] = "";
    svdq_layer_desc_t d = g_desc;
    svdq_layer_t* made = NULL;
    size_t ws = 0;
    void* p = NULL;
    if (strcmp(op, "create") == 0) {
      switch ((int)(b & 7)) {
        case 0: d.N = (int)a; break;
        case 1: d.K = (int)a; break;
        case 2: d.rank = (int)a; break;
        case 3: d.group = (int)a; break;
        case 4: d.act_unsigned = (int)a; break;
        default: d.epilogue = (unsigned)a; break;
      }
      s = svdq_layer_create(&d, &made);
      snprintf(msg, sizeof msg, "%s", svdq_last_error());
      svdq_layer_destroy(made); /* clears the message: keep it first */
    } else if (strcmp(op, "ws") == 0) {
      s = svdq_layer_workspace_size(layer, (int)a, &ws);
    } else if (strcmp(op, "run") == 0) {
      /* an honest caller: workspace_bytes never exceeds the real buffer (4096 bytes) */
      s = svdq_layer_run(layer, (int)a, buf, buf, buf, (size_t)b < 4096 ? (size_t)b : 4096, NULL);
    } else if (strcmp(op, "append") == 0) {
      s = svdq_layer_append_lora(layer, (int)a, g_desc.lora_down, g_desc.lora_up, NULL);
    } else if (strcmp(op, "scales") == 0) {
      float sc[2] = {1, 1};
      s = svdq_layer_set_lora_scales(layer, (int)a, (int)b, sc);
    } else if (strcmp(op, "alloc") == 0) {
      s = svdq_device_alloc((size_t)a, &p);
      snprintf(msg, sizeof msg, "%s", svdq_last_error());
      svdq_device_free(p);
    } else if (strcmp(op, "copy") == 0) {
      s = (b & 1) ? svdq_copy_to_host(host, buf, (size_t)a) : svdq_copy_to_device(buf, host, (size_t)a);
    }
    if (!msg[0]) snprintf(msg, sizeof msg, "%s", svdq_last_error());
    printf("%d %s\n", (int)s, s == SVDQ_OK ? "" : msg);
  }
  if (svdq_layer_rank(layer) != g_desc.rank) die("fuzz: a rejected append changed the rank");
  svdq_device_free(buf);
  svdq_layer_destroy(layer);
}

int main(int argc, char** argv) {
  if (argc < 4) die("usage: consumer run|append|misuse CKPT PREFIX ...");
  if (svdq_abi_version() != SVDQ_ABI_VERSION) die("ABI version mismatch");
  open_checkpoint(argv[2]);
  describe(argv[3]);
  if (strcmp(argv[1], "fuzz") == 0) {
    fuzz();
    return 0;
  }
  if (strcmp(argv[1], "sizes") == 0) {
    sizes();
    return 0;
  }
  if (strcmp(argv[1], "misuse") == 0) {
    misuse();
    return 0;
  }
  svdq_layer_t* layer = NULL;
  if (svdq_layer_create(&g_desc, &layer) != SVDQ_OK) die("svdq_layer_create");
  if (strcmp(argv[1], "append") == 0 && argc == 9) {
    char name[512];
    tensor_t adown, aup;
    snprintf(name, sizeof name, "%s.lora_down", argv[4]);
    if (!load(name, &adown)) die("adapter lora_down missing");
    snprintf(name, sizeof name, "%s.lora_up", argv[4]);
    if (!load(name, &aup)) die("adapter lora_up missing");
    const int arank = (int)adown.shape[0];
    if (svdq_layer_append_lora(layer, arank, adown.device, aup.device, NULL) != SVDQ_OK) die("append");
    /* rescale the appended groups at run time (no repacking) */
    float scale[64];
    for (int i = 0; i < arank / 16; ++i) scale[i] = (float)atof(argv[8]);
    if (svdq_layer_set_lora_scales(layer, g_desc.rank / 16, arank / 16, scale) != SVDQ_OK) die("set scales");
    printf("rank %d after append\n", svdq_layer_rank(layer));
    run_layer(layer, argv[5], atoi(argv[6]), argv[7]);
  } else if (strcmp(argv[1], "run") == 0 && argc == 7) {
    run_layer(layer, argv[4], atoi(argv[5]), argv[6]);
  } else {
    die("bad arguments");
  }
  svdq_layer_destroy(layer);
  printf("done\n");
  return 0;
}
