package com.amazonaws.services.lambda.runtime;

/** Writes to the function's log. */
public interface LambdaLogger {
    void log(String message);
    void log(byte[] message);
}
