/*
 * Test fixture for running msvsmon-probe.exe under Wine; never shipped.
 *
 * Rust's standard library takes its randomness from ProcessPrng in bcryptprimitives.dll
 * (Windows 10 / Server 2016 and later). Wine 8.0, Debian 12's, has no such DLL, so the .exe does
 * not start there. Built as bcryptprimitives.dll and put next to a copy of the .exe, this gives it
 * ProcessPrng over advapi32's RtlGenRandom (SystemFunction036), which Wine has.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffffUL ? 0x7fffffffUL : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
