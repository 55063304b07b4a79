/* Unsafe libc calls the house style forbids; include last in every .c file. */
#ifndef A51_BANNED_H
#define A51_BANNED_H

#pragma GCC poison sprintf vsprintf strcpy strcat gets atoi atol strtok

#endif
