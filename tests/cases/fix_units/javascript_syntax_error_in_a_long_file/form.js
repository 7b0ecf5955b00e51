'use strict';

// Validation of a customer form: one checker per field, each returns an error message or null.

const MAX_LENGTH = 200;

/**
 * The name field: a string, checked as written.
 */
function checkName(value) {
  if (typeof value !== 'string') {
    return 'name must be text';
  }
  return value.trim().length === 0 ? 'name is required' : null;
}

/**
 * The email field: a string, checked as written.
 */
function checkEmail(value) {
  if (typeof value !== 'string') {
    return 'email must be text';
  }
  return /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(value) ? null : 'email is not valid';
}

/**
 * The phone field: a string, checked as written.
 */
function checkPhone(value) {
  if (typeof value !== 'string') {
    return 'phone must be text';
  }
  return /^\+?[0-9 ()-]{6,20}$/.test(value) ? null : 'phone is not valid';
}

/**
 * The street field: a string, checked as written.
 */
function checkStreet(value) {
  if (typeof value !== 'string') {
    return 'street must be text';
  }
  return value.length > MAX_LENGTH ? 'street is too long' : null;
}

/**
 * The city field: a string, checked as written.
 */
function checkCity(value) {
  if (typeof value !== 'string') {
    return 'city must be text';
  }
  return value.trim().length === 0 ? 'city is required' : null;
}

/**
 * The zip field: a string, checked as written.
 */
function checkZip(value) {
  if (typeof value !== 'string' {
    return 'zip must be text';
  }
  return /^[0-9A-Z -]{3,10}$/i.test(value) ? null : 'zip is not valid';
}

/**
 * The country field: a string, checked as written.
 */
function checkCountry(value) {
  if (typeof value !== 'string') {
    return 'country must be text';
  }
  return value.length === 2 ? null : 'country must be a two-letter code';
}

/**
 * The company field: a string, checked as written.
 */
function checkCompany(value) {
  if (typeof value !== 'string') {
    return 'company must be text';
  }
  return value.length > MAX_LENGTH ? 'company is too long' : null;
}

/**
 * The vat field: a string, checked as written.
 */
function checkVat(value) {
  if (typeof value !== 'string') {
    return 'vat must be text';
  }
  return value === '' || /^[A-Z]{2}[0-9A-Z]{8,12}$/.test(value) ? null : 'VAT number is not valid';
}

/**
 * The website field: a string, checked as written.
 */
function checkWebsite(value) {
  if (typeof value !== 'string') {
    return 'website must be text';
  }
  return value === '' || value.startsWith('https://') ? null : 'website must use https';
}

/**
 * The birthday field: a string, checked as written.
 */
function checkBirthday(value) {
  if (typeof value !== 'string') {
    return 'birthday must be text';
  }
  return Number.isNaN(Date.parse(value)) ? 'birthday is not a date' : null;
}

/**
 * The notes field: a string, checked as written.
 */
function checkNotes(value) {
  if (typeof value !== 'string') {
    return 'notes must be text';
  }
  return value.length > MAX_LENGTH * 10 ? 'notes are too long' : null;
}

const CHECKS = {
  name: checkName,
  email: checkEmail,
  phone: checkPhone,
  street: checkStreet,
  city: checkCity,
  zip: checkZip,
  country: checkCountry,
  company: checkCompany,
  vat: checkVat,
  website: checkWebsite,
  birthday: checkBirthday,
  notes: checkNotes,
};

function validate(form) {
  const errors = {};
  for (const [field, check] of Object.entries(CHECKS)) {
    const message = check(form[field] ?? '');
    if (message) {
      errors[field] = message;
    }
  }
  return errors;
}

function isValid(form) {
  return Object.keys(validate(form)).length === 0;
}

function firstError(form) {
  const errors = validate(form);
  const field = Object.keys(errors)[0];
  return field ? `${field}: ${errors[field]}` : null;
}

module.exports = { validate, isValid, firstError, CHECKS };
