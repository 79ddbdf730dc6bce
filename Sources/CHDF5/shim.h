// Wraps the HDF5 macros that do not import into Swift (they expand to global ids that are
// initialised at library load time, or to casts). Uses the 1.10 API.
#ifndef VMOE_CHDF5_SHIM_H
#define VMOE_CHDF5_SHIM_H
#define H5_USE_110_API 1
#include <hdf5.h>

static inline hid_t vmoe_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t vmoe_h5s_all(void) { return H5S_ALL; }
static inline hid_t vmoe_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned vmoe_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t vmoe_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t vmoe_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t vmoe_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t vmoe_c_s1(void) { return H5T_C_S1; }
static inline size_t vmoe_h5t_variable(void) { return H5T_VARIABLE; }
static inline herr_t vmoe_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
